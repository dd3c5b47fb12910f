/**
 * The Notifications section of the MLOps panel: each webhook with its
 * delivery state (delivering, failing and why, disabled), Test / Disable /
 * Remove, and a form to add one. Delivery itself is the server's (an outbox
 * over the activity log): this only shows and edits the subscriptions.
 */

import { Button } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { IWebhook, IWebhookDelivery, WebhookFormat } from '../../api/notify';
import { NotificationsModel } from './model';

function state(hook: IWebhook): { label: string; tone: string; title: string } {
  if (!hook.enabled) {
    return { label: 'disabled', tone: 'jp-mlops-mod-pending', title: 'Nothing is posted' };
  }
  if (hook.failures > 0) {
    const retry = hook.next_attempt_at
      ? ` Next attempt ${new Date(hook.next_attempt_at).toLocaleTimeString()}.`
      : '';
    return {
      label: `failing ×${hook.failures}`,
      tone: 'jp-mlops-mod-fail',
      title: `${hook.last_error ?? 'The endpoint did not accept the post.'}${retry}`
    };
  }
  return {
    label: 'delivering',
    tone: 'jp-mlops-mod-ok',
    title: `Every event up to #${hook.last_event_id} was posted or did not match`
  };
}

function DeliveryList(props: { deliveries: IWebhookDelivery[] }): JSX.Element {
  if (props.deliveries.length === 0) {
    return <div className="jp-mlops-Muted">Nothing posted yet.</div>;
  }
  return (
    <ul className="jp-mlops-notify-deliveries" data-testid="webhook-deliveries">
      {props.deliveries.map(d => (
        <li key={d.id} title={d.error ?? ''}>
          <span className={`jp-mlops-Badge ${d.ok ? 'jp-mlops-mod-ok' : 'jp-mlops-mod-fail'}`}>
            {d.status_code ?? 'no answer'}
          </span>{' '}
          <code>{d.kind}</code>
          {d.event_id !== null ? ` #${d.event_id}` : ' (test)'}{' '}
          <span className="jp-mlops-Muted">
            {new Date(d.ts).toLocaleTimeString()}
            {d.ms !== null ? ` · ${Math.round(d.ms)} ms` : ''}
          </span>
        </li>
      ))}
    </ul>
  );
}

function WebhookRow(props: { model: NotificationsModel; hook: IWebhook }): JSX.Element {
  const { model: m, hook } = props;
  const [confirming, setConfirming] = useState(false);
  const s = state(hook);
  const test = m.tests[hook.name];
  return (
    <li className="jp-mlops-notify-hook" data-testid={`webhook-${hook.name}`}>
      <div className="jp-mlops-notify-line">
        <span className="jp-mlops-notify-name">{hook.name}</span>
        <span className={`jp-mlops-Badge ${s.tone}`} title={s.title} data-testid="webhook-state">
          {s.label}
        </span>
        <span className="jp-mlops-Muted">{hook.format}</span>
      </div>
      <div className="jp-mlops-Muted jp-mlops-notify-url" title={hook.url}>
        {hook.url}
      </div>
      <div className="jp-mlops-notify-events">
        {hook.events.map(p => (
          <code key={p}>{p}</code>
        ))}
      </div>
      {hook.failures > 0 && hook.last_error && (
        <div className="jp-mlops-Error" data-testid="webhook-error">
          {hook.last_error}
        </div>
      )}
      {test && (
        <div
          className={test.ok ? 'jp-mlops-Muted' : 'jp-mlops-Error'}
          data-testid="webhook-test-result"
        >
          test: {test.ok ? `delivered (HTTP ${test.status_code})` : `failed: ${test.error}`} in{' '}
          {Math.round(test.ms)} ms
        </div>
      )}
      {m.deliveries[hook.name] && <DeliveryList deliveries={m.deliveries[hook.name]} />}
      <div className="jp-mlops-notify-actions">
        <Button small={true} disabled={m.busy} onClick={() => void m.test(hook.name)}>
          Test
        </Button>
        <Button
          small={true}
          minimal={true}
          aria-pressed={hook.name in m.deliveries}
          onClick={() => void m.toggleDeliveries(hook.name)}
        >
          History
        </Button>
        <Button
          small={true}
          disabled={m.busy}
          onClick={() => void m.setEnabled(hook.name, !hook.enabled)}
        >
          {hook.enabled ? 'Disable' : 'Enable'}
        </Button>
        {confirming ? (
          <Button
            small={true}
            className="jp-mod-warn"
            disabled={m.busy}
            onClick={() => void m.remove(hook.name)}
          >
            Remove {hook.name}?
          </Button>
        ) : (
          <Button small={true} minimal={true} onClick={() => setConfirming(true)}>
            Remove
          </Button>
        )}
      </div>
    </li>
  );
}

/** The add form's text fields, in order. */
const FIELDS: {
  key: 'name' | 'url' | 'events';
  label: string;
  placeholder?: string;
  title?: string;
}[] = [
  { key: 'name', label: 'Webhook name', placeholder: 'name, e.g. ops-channel' },
  { key: 'url', label: 'Webhook URL', placeholder: 'https://hooks.example.com/…' },
  {
    key: 'events',
    label: 'Events',
    title: 'Kinds or prefixes (monitor.alert, deploy), kind=status (pipeline.run=failed) or *'
  }
];

function AddForm(props: { model: NotificationsModel }): JSX.Element {
  const m = props.model;
  const f = m.form;
  return (
    <form
      className="jp-mlops-notify-form"
      data-testid="webhook-form"
      onSubmit={e => {
        e.preventDefault();
        void m.add();
      }}
    >
      {FIELDS.map(field => (
        <input
          key={field.key}
          className="jp-mlops-Input"
          aria-label={field.label}
          placeholder={field.placeholder}
          title={field.title}
          value={f[field.key]}
          onChange={e => m.updateForm({ [field.key]: e.target.value })}
        />
      ))}
      <div className="jp-mlops-notify-line">
        <select
          className="jp-mlops-Input"
          aria-label="Format"
          value={f.format}
          onChange={e => m.updateForm({ format: e.target.value as WebhookFormat })}
        >
          <option value="json">JSON (the event)</option>
          <option value="slack">Slack / Mattermost text</option>
        </select>
        <Button type="submit" small={true} disabled={!m.canAdd}>
          Add webhook
        </Button>
      </div>
      {m.formError && (
        <div className="jp-mlops-Error" data-testid="webhook-form-error">
          {m.formError}
        </div>
      )}
    </form>
  );
}

export function NotificationsSection(props: { model: NotificationsModel }): JSX.Element {
  const m = props.model;
  return (
    <div className="jp-mlops-notify" data-testid="mlops-notifications">
      {m.error && <div className="jp-mlops-Error">{m.error}</div>}
      {m.webhooks.length === 0 ? (
        <div className="jp-mlops-Muted">
          No webhooks: alerts, failed runs and rollbacks are only in the activity log.
        </div>
      ) : (
        <ul className="jp-mlops-List">
          {m.webhooks.map(h => (
            <WebhookRow key={h.name} model={m} hook={h} />
          ))}
        </ul>
      )}
      <AddForm model={m} />
    </div>
  );
}
