/**
 * A plotly figure (as the server's figure route returns it) drawn by plotly.js.
 *
 * plotly.js is several MB: it is imported dynamically (a webpack chunk of its
 * own) the first time a plot is shown, never when JupyterLab starts. The
 * figure's own layout is kept; only the colours follow the JupyterLab theme.
 */

import type { Config, Data, Layout } from 'plotly.js-dist-min';
import React, { useEffect, useRef, useState } from 'react';

import { IPlotlyFigure } from '../../api/drift';

/** The part of plotly.js the panel calls (the package ships its own types). */
interface IPlotly {
  react(
    root: HTMLElement,
    data: Data[],
    layout?: Partial<Layout>,
    config?: Partial<Config>
  ): Promise<unknown>;
  purge(root: HTMLElement): void;
}

let loading: Promise<IPlotly> | null = null;

/** plotly.js, imported once; a failed load is retried on the next plot. */
export function loadPlotly(): Promise<IPlotly> {
  if (!loading) {
    // a UMD bundle: webpack hands it over as the module or as its `default`
    loading = import('plotly.js-dist-min').then(
      module => ((module as { default?: IPlotly }).default ?? module) as IPlotly
    );
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

function themed(el: HTMLElement, layout: Record<string, unknown>): Partial<Layout> {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) =>
    css.getPropertyValue(name).trim() || fallback;
  const grid = v('--jp-border-color2', '#e0e0e0');
  const axis = (over: unknown) => ({
    gridcolor: grid,
    zerolinecolor: grid,
    ...((over as Record<string, unknown>) ?? {})
  });
  return {
    ...layout,
    template: undefined,
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: v('--jp-ui-font-color1', '#333'), family: v('--jp-ui-font-family', 'sans-serif') },
    xaxis: axis(layout.xaxis),
    yaxis: axis(layout.yaxis),
    margin: { t: 48, r: 16, b: 48, l: 56 },
    autosize: true
  } as Partial<Layout>;
}

/** Draws `figure`; the container gets `data-rendered="plotly"` once it is drawn. */
export function PlotlyFigure(props: {
  figure: IPlotlyFigure;
  testId: string;
}): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const { figure } = props;

  useEffect(() => {
    const el = ref.current;
    let cancelled = false;
    if (!el) {
      return;
    }
    el.removeAttribute('data-rendered');
    loadPlotly()
      .then(Plotly => {
        if (cancelled) {
          return;
        }
        const config: Partial<Config> = { displaylogo: false, responsive: true };
        return Plotly.react(
          el,
          figure.data as unknown as Data[],
          themed(el, figure.layout),
          config
        ).then(() => {
          if (!cancelled) {
            el.setAttribute('data-rendered', 'plotly');
            setError(null);
          }
        });
      })
      .catch(reason => {
        if (!cancelled) {
          setError(
            `Cannot draw the plot: ${reason instanceof Error ? reason.message : reason}`
          );
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
    <div className="jp-mlops-drift-plotBox">
      {error && <div className="jp-mlops-Error">{error}</div>}
      <div className="jp-mlops-drift-plot" data-testid={props.testId} ref={ref} />
    </div>
  );
}
