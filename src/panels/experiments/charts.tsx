/**
 * Charts of the compare view, drawn by plotly.js.
 *
 * plotly.js is ≈ 3.5 MB: it is loaded with a dynamic import (its own webpack
 * chunk) the first time a chart is shown, never when JupyterLab starts.
 * Colours come from the JupyterLab theme's CSS variables.
 */

import React, { useEffect, useRef, useState } from 'react';

/** A plotly trace; only the fields the panel uses are spelled out. */
export interface IPlotTrace {
  type: 'scatter' | 'parcoords';
  [key: string]: unknown;
}

interface IPlotly {
  react(
    el: HTMLElement,
    data: IPlotTrace[],
    layout: Record<string, unknown>,
    config: Record<string, unknown>
  ): Promise<unknown>;
  purge(el: HTMLElement): void;
}

let plotly: Promise<IPlotly> | null = null;

/** The plotly.js module, imported once; a failed load is retried on the next chart. */
export function loadPlotly(): Promise<IPlotly> {
  if (!plotly) {
    // a CommonJS bundle: webpack hands it over as the namespace's default export
    plotly = import('plotly.js-dist-min').then(
      module =>
        ((module as { default?: unknown }).default ?? module) as unknown as IPlotly
    );
    plotly.catch(() => {
      plotly = null;
    });
  }
  return plotly;
}

function themeLayout(el: HTMLElement): Record<string, unknown> {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) =>
    css.getPropertyValue(name).trim() || fallback;
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
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  // the model re-renders the view on every change: redraw only when the figure changes
  const figure = JSON.stringify([props.data, props.layout]);

  useEffect(() => {
    const el = ref.current;
    let cancelled = false;
    if (!el) {
      return;
    }
    loadPlotly()
      .then(Plotly => {
        if (cancelled) {
          return;
        }
        return Plotly.react(el, props.data, merge(themeLayout(el), props.layout), {
          displaylogo: false,
          responsive: true
        }).then(() => el.setAttribute('data-rendered', 'plotly'));
      })
      .catch(reason => {
        if (!cancelled) {
          setError(`Cannot draw the chart: ${reason instanceof Error ? reason.message : reason}`);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [figure]);

  useEffect(() => {
    const el = ref.current;
    return () => {
      if (el && el.hasAttribute('data-rendered')) {
        void loadPlotly().then(Plotly => Plotly.purge(el));
      }
    };
  }, []);

  return (
    <div className="jp-mlops-exp-chartBox">
      {error && <div className="jp-mlops-Error">{error}</div>}
      <div className="jp-mlops-exp-chart" data-testid={props.testId} ref={ref} />
    </div>
  );
}
