/**
 * Selected runs side by side: what differs first (params, metrics, source),
 * then a line chart per metric history and a parallel-coordinates plot of
 * the differing params against the metrics.
 */

import React from 'react';

import { IComparison, IMetricHistory, IRunSummary } from '../../api/experiments';
import { Chart, IPlotTrace } from './charts';
import { formatNumber, runLabel, shortCommit } from './format';

function historyTraces(histories: IMetricHistory[], runs: IRunSummary[]): IPlotTrace[] {
  const byId = new Map(runs.map(r => [r.id, r]));
  return histories.map(h => {
    const run = byId.get(h.run_id);
    return {
      type: 'scatter',
      mode: h.points.length > 50 ? 'lines' : 'lines+markers',
      name: run ? runLabel(run) : h.run_id.slice(0, 8),
      x: h.points.map(p => p.step),
      y: h.points.map(p => p.value)
    };
  });
}

interface IDimension {
  label: string;
  values: number[];
  tickvals?: number[];
  ticktext?: string[];
}

/**
 * One axis per differing param (numeric, or categorical with its values as
 * ticks) and per metric every compared run has; the line colour is the
 * first metric's value.
 */
export function parallelDimensions(comparison: IComparison): IDimension[] {
  const ids = comparison.run_ids;
  const dims: IDimension[] = [];
  for (const [key, byRun] of Object.entries(comparison.params_differ)) {
    const raw = ids.map(id => byRun[id]);
    const numbers = raw.map(v => (v === null || v.trim() === '' ? NaN : Number(v)));
    if (numbers.every(n => Number.isFinite(n))) {
      dims.push({ label: `params.${key}`, values: numbers });
    } else {
      const categories = [...new Set(raw.map(v => v ?? '—'))].sort();
      dims.push({
        label: `params.${key}`,
        values: raw.map(v => categories.indexOf(v ?? '—')),
        tickvals: categories.map((_, i) => i),
        ticktext: categories
      });
    }
  }
  for (const [key, byRun] of Object.entries(comparison.metrics)) {
    const values = ids.map(id => byRun[id]);
    if (values.every(v => v !== null && v !== undefined)) {
      dims.push({ label: `metrics.${key}`, values: values as number[] });
    }
  }
  return dims;
}

function ParallelPlot(props: { comparison: IComparison }): JSX.Element {
  const dims = parallelDimensions(props.comparison);
  if (dims.length < 2) {
    return (
      <div className="jp-mlops-Muted" data-testid="mlops-exp-parallel-empty">
        A parallel-coordinates plot needs two or more params that differ or metrics
        every run has.
      </div>
    );
  }
  const colourBy = dims.find(d => d.label.startsWith('metrics.')) ?? dims[dims.length - 1];
  const trace: IPlotTrace = {
    type: 'parcoords',
    line: {
      color: colourBy.values,
      colorscale: 'Viridis',
      showscale: true,
      colorbar: { title: { text: colourBy.label } }
    },
    dimensions: dims
  };
  return (
    <Chart
      testId="mlops-exp-parallel"
      data={[trace]}
      layout={{
        title: { text: 'Params and metrics', y: 0.98 },
        height: 380,
        // axis names sit above the plot: room for them under the title
        margin: { t: 84, r: 48, b: 32, l: 64 }
      }}
    />
  );
}

export function CompareView(props: {
  comparison: IComparison;
  histories: Record<string, IMetricHistory[]>;
}): JSX.Element {
  const { comparison, histories } = props;
  const runs = comparison.runs;
  const differ = Object.entries(comparison.params_differ);
  const metrics = Object.entries(comparison.metrics);
  const common = Object.entries(comparison.params_common);
  return (
    <div className="jp-mlops-exp-compare" data-testid="mlops-exp-compare">
      <h3>Comparing {runs.length} runs</h3>
      <div className="jp-mlops-exp-tableScroll">
        <table className="jp-mlops-exp-table jp-mlops-exp-compareTable">
          <thead>
            <tr>
              <th />
              {runs.map(r => (
                <th key={r.id} title={r.id}>
                  {runLabel(r)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr>
              <th>Notebook</th>
              {runs.map(r => (
                <td key={r.id}>{r.notebook ?? ''}</td>
              ))}
            </tr>
            <tr>
              <th>Commit</th>
              {runs.map(r => (
                <td key={r.id}>{shortCommit(r)}</td>
              ))}
            </tr>
            {differ.map(([key, byRun]) => (
              <tr key={`p-${key}`} className="jp-mlops-exp-differ">
                <th>params.{key}</th>
                {runs.map(r => (
                  <td key={r.id}>{byRun[r.id] ?? '—'}</td>
                ))}
              </tr>
            ))}
            {metrics.map(([key, byRun]) => (
              <tr key={`m-${key}`} data-testid="mlops-exp-compare-metric">
                <th>metrics.{key}</th>
                {runs.map(r => (
                  <td key={r.id} className="jp-mlops-exp-num">
                    {formatNumber(byRun[r.id])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {common.length > 0 && (
        <div className="jp-mlops-Muted" data-testid="mlops-exp-common">
          Same in every run: {common.map(([k, v]) => `${k}=${v}`).join(', ')}
        </div>
      )}
      <div className="jp-mlops-exp-charts">
        {Object.entries(histories).map(([key, found]) => (
          <Chart
            key={key}
            testId="mlops-exp-history-chart"
            data={historyTraces(found, runs)}
            layout={{
              title: { text: key },
              xaxis: { title: { text: 'step' } },
              height: 280
            }}
          />
        ))}
        {metrics.length > 0 && Object.keys(histories).length === 0 && (
          <div className="jp-mlops-Muted">Loading metric histories…</div>
        )}
      </div>
      <ParallelPlot comparison={comparison} />
    </div>
  );
}
