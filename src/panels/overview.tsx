/**
 * The "MLOps" left-sidebar panel: workspace status, store health, one
 * section per capability (filled by later capabilities), recent activity.
 */

import {
  Button,
  ReactWidget,
  refreshIcon,
  ToolbarButtonComponent,
  UseSignal
} from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { ICapability, IComponentStatus, IEvent } from '../api';
import { NotificationsSection } from './notifications/view';
import { OverviewModel } from './overviewModel';

function Section(props: {
  title: string;
  testId: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section className="jp-mlops-Section" data-testid={props.testId}>
      <h3 className="jp-mlops-SectionTitle">{props.title}</h3>
      {props.children}
    </section>
  );
}

function StatusBadge(props: {
  ok: boolean;
  label?: string;
  pending?: boolean;
}): JSX.Element {
  const tone = props.ok
    ? 'jp-mlops-mod-ok'
    : props.pending
      ? 'jp-mlops-mod-pending'
      : 'jp-mlops-mod-fail';
  return (
    <span className={`jp-mlops-Badge ${tone}`}>
      {props.label ?? (props.ok ? 'ok' : 'unreachable')}
    </span>
  );
}

function HealthRow(props: {
  name: string;
  status: IComponentStatus;
}): JSX.Element {
  const labels: Record<string, string> = {
    state_db: 'State DB',
    mlflow: 'MLflow store'
  };
  return (
    <li className="jp-mlops-HealthRow" data-testid={`mlops-health-${props.name}`}>
      <StatusBadge ok={props.status.ok} />
      <span className="jp-mlops-HealthName">
        {labels[props.name] ?? props.name}
      </span>
      <span className="jp-mlops-Muted" title={props.status.detail}>
        {props.status.detail} · {Math.round(props.status.latency_ms)} ms
      </span>
    </li>
  );
}

function CapabilityRow(props: { capability: ICapability }): JSX.Element {
  const c = props.capability;
  return (
    <li
      className="jp-mlops-Capability"
      data-testid={`mlops-capability-${c.id}`}
      title={c.description}
    >
      <span className="jp-mlops-CapabilityName">{c.label}</span>
      <StatusBadge
        ok={c.available}
        pending={!c.available}
        label={c.available ? 'ready' : 'coming'}
      />
    </li>
  );
}

function EventRow(props: { event: IEvent }): JSX.Element {
  const e = props.event;
  return (
    <li className="jp-mlops-Event">
      <span className="jp-mlops-EventKind">{e.kind}</span>
      <span className="jp-mlops-EventMessage">{e.message}</span>
      <span className="jp-mlops-Muted">
        {new Date(e.ts).toLocaleString()}
        {e.actor ? ` · ${e.actor}` : ''}
      </span>
    </li>
  );
}

function NoteForm(props: { model: OverviewModel }): JSX.Element {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!text.trim()) {
      return;
    }
    try {
      await props.model.addNote(text.trim());
      setText('');
      setError(null);
    } catch (reason) {
      setError(reason instanceof Error ? reason.message : String(reason));
    }
  };
  return (
    <form className="jp-mlops-NoteForm" onSubmit={submit}>
      <input
        className="jp-mlops-Input"
        aria-label="Note"
        placeholder="Add a note to the activity log"
        value={text}
        onChange={e => setText(e.target.value)}
      />
      <Button type="submit" small={true} disabled={!text.trim()}>
        Add
      </Button>
      {error && <div className="jp-mlops-Error">{error}</div>}
    </form>
  );
}

export function OverviewView(props: { model: OverviewModel }): JSX.Element {
  const m = props.model;
  return (
    <div className="jp-mlops-Overview">
      <div className="jp-mlops-Header">
        <span className="jp-mlops-Title">MLOps</span>
        {m.config && (
          <span className="jp-mlops-Muted" data-testid="mlops-version">
            v{m.config.version}
          </span>
        )}
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Refresh workspace status"
          onClick={() => void m.refresh()}
          enabled={m.state !== 'loading'}
        />
      </div>
      {m.state === 'loading' && !m.config && (
        <div className="jp-mlops-Muted">Loading workspace status…</div>
      )}
      {m.error && (
        <div className="jp-mlops-Error" data-testid="mlops-error">
          {m.error.message}
        </div>
      )}
      {m.config && (
        <Section title="Workspace" testId="mlops-workspace">
          <dl className="jp-mlops-Paths">
            <dt>Root</dt>
            <dd data-testid="mlops-workspace-root">{m.config.workspace.root}</dd>
            <dt>State DB</dt>
            <dd>{m.config.workspace.state_db}</dd>
            <dt>Tracking</dt>
            <dd data-testid="mlops-tracking-uri">
              {m.config.workspace.tracking_uri}
            </dd>
            <dt>Artifacts</dt>
            <dd>{m.config.workspace.artifact_root}</dd>
          </dl>
        </Section>
      )}
      {m.health && (
        <Section title="Health" testId="mlops-health">
          <ul className="jp-mlops-List">
            {Object.entries(m.health.components).map(([name, status]) => (
              <HealthRow key={name} name={name} status={status} />
            ))}
          </ul>
        </Section>
      )}
      {m.config && (
        <Section title="Capabilities" testId="mlops-capabilities">
          <ul className="jp-mlops-List">
            {m.config.capabilities.map(c => (
              <CapabilityRow key={c.id} capability={c} />
            ))}
          </ul>
        </Section>
      )}
      {m.hasNotifications && (
        <Section title="Notifications" testId="mlops-notifications-section">
          <UseSignal signal={m.notifications.changed}>
            {() => <NotificationsSection model={m.notifications} />}
          </UseSignal>
        </Section>
      )}
      {m.config && (
        <Section title="Activity" testId="mlops-activity">
          <NoteForm model={m} />
          {m.events.length === 0 ? (
            <div className="jp-mlops-Muted">No activity yet.</div>
          ) : (
            <ul className="jp-mlops-List">
              {m.events.map(e => (
                <EventRow key={e.id} event={e} />
              ))}
            </ul>
          )}
        </Section>
      )}
    </div>
  );
}

/** The Lumino widget placed in the left area. */
export class OverviewPanel extends ReactWidget {
  constructor(model: OverviewModel) {
    super();
    this.model = model;
    this.id = 'jp-mlops-overview';
    this.addClass('jp-mlops-Panel');
  }

  readonly model: OverviewModel;

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <OverviewView model={this.model} />}
      </UseSignal>
    );
  }
}
