/**
 * plotly.js for every panel: one lazy loader and one drawing component.
 *
 * plotly.js is ≈ 3.5 MB: it is imported dynamically (a webpack chunk of its
 * own) the first time a plot is shown, never when JupyterLab starts. Each
 * panel only decides the layout (its theme colours come from the element's
 * computed `--jp-*` variables, hence a function of the element).
 */

import React, { useEffect, useRef, useState } from 'react';

/** The part of plotly.js the panels call (the package ships its own types). */
export interface IPlotly {
  react(
    el: HTMLElement,
    data: unknown[],
    layout: Record<string, unknown>,
    config: Record<string, unknown>
  ): Promise<unknown>;
  purge(el: HTMLElement): void;
}

let loading: Promise<IPlotly> | null = null;

/** plotly.js, imported once; a failed load is retried on the next plot. */
export function loadPlotly(): Promise<IPlotly> {
  if (!loading) {
    // a UMD bundle: webpack hands it over as the module or as its `default`
    loading = import('plotly.js-dist-min').then(
      module => ((module as { default?: unknown }).default ?? module) as unknown as IPlotly
    );
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

/** A CSS variable of `el`'s theme, or `fallback`. */
export function themeVar(el: HTMLElement, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/**
 * Draws `data` with the layout `layout(el)` returns; redraws only when
 * `figureKey` changes. The plot element gets `data-rendered="plotly"` once drawn.
 */
export function PlotlyBox(props: {
  data: unknown[];
  layout: (el: HTMLElement) => Record<string, unknown>;
  figureKey: unknown;
  testId: string;
  boxClass: string;
  plotClass: string;
  what: string;
}): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);

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
        return Plotly.react(el, props.data, props.layout(el), {
          displaylogo: false,
          responsive: true
        }).then(() => {
          if (!cancelled) {
            el.setAttribute('data-rendered', 'plotly');
            setError(null);
          }
        });
      })
      .catch(reason => {
        if (!cancelled) {
          setError(
            `Cannot draw the ${props.what}: ${reason instanceof Error ? reason.message : reason}`
          );
        }
      });
    return () => {
      cancelled = true;
    };
  }, [props.figureKey]);

  useEffect(() => {
    const el = ref.current;
    return () => {
      if (el && el.hasAttribute('data-rendered')) {
        void loadPlotly().then(Plotly => Plotly.purge(el));
      }
    };
  }, []);

  return (
    <div className={props.boxClass}>
      {error && <div className="jp-mlops-Error">{error}</div>}
      <div className={props.plotClass} data-testid={props.testId} ref={ref} />
    </div>
  );
}
