/**
 * The Models panel (a main-area widget) with two tabs: "Registry" (models,
 * versions with alias badges, the alias history, the gate and promotion, the
 * lineage) and "Deployments" (the deployments section, its own folder).
 */

import {
  ReactWidget,
  refreshIcon,
  ToolbarButtonComponent,
  UseSignal
} from '@jupyterlab/ui-components';
import React from 'react';

import { IMLOpsClient } from '../../tokens';
import { DeploymentsSection } from './deployments/section';
import { GateForm, GateHistory, GateResultView, PromoteForm } from './gate';
import { LineageView } from './lineage';
import { ModelsModel, ModelsTab } from './model';
import { AliasHistory, IModelsOpeners, ModelsList, VersionsTable } from './registry';

function Tabs(props: { model: ModelsModel }): JSX.Element {
  const m = props.model;
  const tab = (id: ModelsTab, label: string) => (
    <button
      type="button"
      role="tab"
      aria-selected={m.tab === id}
      className={`jp-mlops-models-tab${m.tab === id ? ' jp-mod-active' : ''}`}
      data-testid={`models-tab-${id}`}
      onClick={() => m.setTab(id)}
    >
      {label}
    </button>
  );
  return (
    <div className="jp-mlops-models-tabs" role="tablist">
      {tab('registry', 'Registry')}
      {tab('deployments', 'Deployments')}
    </div>
  );
}

function Section(props: {
  title: React.ReactNode;
  testId?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section className="jp-mlops-Section" data-testid={props.testId}>
      <h3 className="jp-mlops-SectionTitle">{props.title}</h3>
      {props.children}
    </section>
  );
}

function Registry(props: { model: ModelsModel; openers: IModelsOpeners }): JSX.Element {
  const m = props.model;
  const detail = m.detail;
  return (
    <div className="jp-mlops-models-registry">
      <div className="jp-mlops-models-side">
        <h3 className="jp-mlops-SectionTitle">Models</h3>
        <ModelsList model={m} />
      </div>
      {detail && (
        <div className="jp-mlops-models-main" data-testid="model-detail">
          <div className="jp-mlops-models-title">
            <span className="jp-mlops-Title jp-mlops-keepCase">{detail.name}</span>
            <span className="jp-mlops-Muted">
              protected: {detail.protected.map(a => `@${a}`).join(', ') || 'none'}
            </span>
          </div>
          {m.notice && (
            <div className="jp-mlops-models-notice" data-testid="models-notice">
              {m.notice}
            </div>
          )}
          <Section title="Versions">
            <VersionsTable model={m} openers={props.openers} />
          </Section>
          <Section title="Run gate" testId="gate-section">
            <GateForm model={m} />
            {m.gateError && (
              <div className="jp-mlops-Error" data-testid="gate-error">
                {m.gateError}
              </div>
            )}
            {m.gate && <GateResultView result={m.gate} />}
          </Section>
          <Section title="Promote" testId="promote-section">
            <PromoteForm model={m} />
          </Section>
          <div className="jp-mlops-models-columns">
            <Section title="Alias history" testId="alias-history-section">
              <AliasHistory model={m} />
            </Section>
            <Section title="Gate results">
              <GateHistory model={m} />
            </Section>
          </div>
          {m.lineageVersion !== null && (
            <Section
              title={
                <>
                  Lineage of{' '}
                  <span className="jp-mlops-keepCase">
                    {detail.name} v{m.lineageVersion}
                  </span>
                </>
              }
              testId="lineage-section"
            >
              {m.lineageError && <div className="jp-mlops-Error">{m.lineageError}</div>}
              {m.lineage ? (
                <LineageView
                  graph={m.lineage}
                  openers={props.openers}
                  onModel={v => void m.showLineage(v)}
                />
              ) : (
                !m.lineageError && <div className="jp-mlops-Muted">Walking the lineage…</div>
              )}
            </Section>
          )}
        </div>
      )}
    </div>
  );
}

export function ModelsView(props: {
  model: ModelsModel;
  client: IMLOpsClient;
  openers: IModelsOpeners;
}): JSX.Element {
  const m = props.model;
  return (
    <div className="jp-mlops-models">
      <div className="jp-mlops-Header">
        <span className="jp-mlops-Title">Models</span>
        <Tabs model={m} />
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Reload models, versions and gate results"
          onClick={() => void m.refresh()}
          enabled={!m.loading}
        />
      </div>
      {m.error && (
        <div className="jp-mlops-Error" data-testid="models-error">
          {m.error}
        </div>
      )}
      {m.tab === 'registry' ? (
        <Registry model={m} openers={props.openers} />
      ) : (
        <DeploymentsSection client={props.client} />
      )}
    </div>
  );
}

/** The panel's content widget (wrapped in a MainAreaWidget by the plugin). */
export class ModelsPanel extends ReactWidget {
  constructor(model: ModelsModel, client: IMLOpsClient, openers: IModelsOpeners) {
    super();
    this.model = model;
    this.client = client;
    this.openers = openers;
    this.addClass('jp-mlops-Panel');
    this.addClass('jp-mlops-ModelsPanel');
  }

  readonly model: ModelsModel;
  readonly client: IMLOpsClient;
  readonly openers: IModelsOpeners;

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <ModelsView model={this.model} client={this.client} openers={this.openers} />}
      </UseSignal>
    );
  }
}
