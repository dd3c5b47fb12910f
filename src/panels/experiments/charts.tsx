/**
 * Charts of the compare view, drawn by plotly.js.
 *
 * plotly.js is loaded on demand (see ../plotly). Colours come from the
 * JupyterLab theme's CSS variables.
 */

import React from 'react';

import { PlotlyBox, themeVar } from '../plotly';

/** A plotly trace; only the fields the panel uses are spelled out. */
export interface IPlotTrace {
  type: 'scatter' | 'parcoords';
  [key: string]: unknown;
}

function themeLayout(el: HTMLElement): Record<string, unknown> {
  const v = (name: string, fallback: string) => themeVar(el, name, fallback);
  const grid = v('--jp-border-color2', '#e0e0e0');
  return {
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: {
      color: v('--jp-ui-font-color1', '#333'),
      family: v('--jp-ui-font-family', 'sans-serif'),
      size: 11
    },
    margin: { t: 36, r: 16, b: 72, l: 48 },
    xaxis: { gridcolor: grid, zerolinecolor: grid },
    yaxis: { gridcolor: grid, zerolinecolor: grid },
    legend: { orientation: 'h', y: -0.32 }
  };
}

function merge(
  base: Record<string, unknown>,
  over: Record<string, unknown>
): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) &&
      current && typeof current === 'object' && !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/** A plotly chart; `data-rendered="plotly"` is set once it is drawn. */
export function Chart(props: {
  data: IPlotTrace[];
  layout: Record<string, unknown>;
  testId: string;
}): JSX.Element {
  // the model re-renders the view on every change: redraw only when the figure changes
  const figure = JSON.stringify([props.data, props.layout]);
  return (
    <PlotlyBox
      data={props.data}
      layout={el => merge(themeLayout(el), props.layout)}
      figureKey={figure}
      testId={props.testId}
      boxClass="jp-mlops-exp-chartBox"
      plotClass="jp-mlops-exp-chart"
      what="chart"
    />
  );
}
