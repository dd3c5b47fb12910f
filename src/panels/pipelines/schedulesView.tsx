/**
 * The Schedule tab of the Pipelines panel: a cron editor whose next five
 * fire times come from the server as you type (which also says why an
 * expression is invalid), and the pipeline's schedules with their next five
 * fire times, pause / resume and delete.
 */

import { Button } from '@jupyterlab/ui-components';
import React from 'react';

import { ISchedule } from '../../api/pipelines';
import { PipelinesModel } from './model';

/** A fire time in the browser's timezone and in the schedule's. */
function FireTime(props: { iso: string; timezone: string }): JSX.Element {
  const date = new Date(props.iso);
  let there = '';
  try {
    there = date.toLocaleString(undefined, { timeZone: props.timezone, timeZoneName: 'short' });
  } catch {
    there = props.iso;
  }
  return (
    <li data-testid="fire-time" data-iso={props.iso}>
      {there}
      <span className="jp-mlops-Muted"> · {date.toISOString().replace('.000Z', 'Z')}</span>
    </li>
  );
}

function ScheduleItem(props: { model: PipelinesModel; schedule: ISchedule }): JSX.Element {
  const { model: m, schedule: s } = props;
  return (
    <li
      className="jp-mlops-pipelines-schedule"
      data-testid={`schedule-${s.id}`}
      data-paused={String(s.paused)}
    >
      <div className="jp-mlops-pipelines-scheduleHead">
        <code>{s.cron ?? '(triggers only)'}</code>
        <span className="jp-mlops-Muted">
          {s.timezone} · catch-up {s.catch_up}
          {s.source === 'spec' ? ' · from the spec file' : ''}
          {Object.keys(s.parameters).length ? ` · ${JSON.stringify(s.parameters)}` : ''}
        </span>
        {s.triggers.map(t => (
          <span key={`${t.kind}:${t.subject}`} className="jp-mlops-Badge jp-mlops-mod-pending">
            on {t.kind.replace('_', ' ')} {t.subject}
          </span>
        ))}
        <span
          className={`jp-mlops-Badge ${s.paused ? 'jp-mlops-mod-fail' : 'jp-mlops-mod-ok'}`}
          data-testid="schedule-state"
        >
          {s.paused ? 'paused' : 'active'}
        </span>
        <Button
          small={true}
          minimal={true}
          data-testid="schedule-toggle"
          onClick={() => void m.pause(s.id, !s.paused)}
        >
          {s.paused ? 'Resume' : 'Pause'}
        </Button>
        <Button
          small={true}
          minimal={true}
          data-testid="schedule-delete"
          onClick={() => void m.deleteSchedule(s.id)}
        >
          Delete
        </Button>
      </div>
      {s.upcoming.length > 0 && (
        <ol className="jp-mlops-pipelines-times" data-testid="schedule-upcoming">
          {s.upcoming.map(t => (
            <FireTime key={t} iso={t} timezone={s.timezone} />
          ))}
        </ol>
      )}
    </li>
  );
}

export function ScheduleEditor(props: { model: PipelinesModel }): JSX.Element {
  const m = props.model;
  const d = m.draft;
  return (
    <section className="jp-mlops-Section" data-testid="pipelines-schedules">
      <form
        className="jp-mlops-pipelines-form"
        data-testid="schedule-editor"
        onSubmit={e => {
          e.preventDefault();
          void m.createSchedule();
        }}
      >
        <div className="jp-mlops-pipelines-field">
          <label htmlFor="jp-mlops-cron">cron</label>
          <input
            id="jp-mlops-cron"
            className="jp-mlops-Input"
            data-testid="schedule-cron"
            value={d.cron}
            placeholder="minute hour day month weekday"
            onChange={e => m.setDraft({ cron: e.target.value })}
          />
        </div>
        <div className="jp-mlops-pipelines-field">
          <label htmlFor="jp-mlops-tz">timezone</label>
          <input
            id="jp-mlops-tz"
            className="jp-mlops-Input"
            data-testid="schedule-timezone"
            value={d.timezone}
            placeholder="UTC, Europe/Paris…"
            onChange={e => m.setDraft({ timezone: e.target.value })}
          />
        </div>
        <div className="jp-mlops-pipelines-field">
          <label htmlFor="jp-mlops-catchup">missed runs</label>
          <select
            id="jp-mlops-catchup"
            className="jp-mlops-Input"
            value={d.catchUp}
            onChange={e =>
              m.setDraft({ catchUp: e.target.value as 'skip' | 'latest' | 'backfill' })
            }
          >
            <option value="latest">run the latest once</option>
            <option value="skip">skip them</option>
            <option value="backfill">run each (backfill)</option>
          </select>
        </div>
        <button
          type="submit"
          className="jp-Button jp-mod-styled jp-mod-accept"
          data-testid="schedule-create"
          disabled={!!m.previewError}
        >
          Create schedule
        </button>
      </form>
      <div className="jp-mlops-Muted">
        Runs with the parameters of the Run form. Next fire times:
      </div>
      {m.previewError ? (
        <div className="jp-mlops-Error" data-testid="schedule-preview-error">
          {m.previewError}
        </div>
      ) : (
        <ol className="jp-mlops-pipelines-times" data-testid="schedule-preview">
          {m.preview.map(t => (
            <FireTime key={t} iso={t} timezone={d.timezone} />
          ))}
        </ol>
      )}
      <h3 className="jp-mlops-SectionTitle">Schedules</h3>
      {m.schedules.length === 0 ? (
        <div className="jp-mlops-Muted">No schedule for this pipeline.</div>
      ) : (
        <ul className="jp-mlops-List jp-mlops-pipelines-schedules">
          {m.schedules.map(s => (
            <ScheduleItem key={s.id} model={m} schedule={s} />
          ))}
        </ul>
      )}
    </section>
  );
}
