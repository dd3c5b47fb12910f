/**
 * A plotly figure (as the server's figure route returns it) drawn by plotly.js
 * (loaded on demand, see ../plotly). The figure's own layout is kept; only
 * the colours follow the JupyterLab theme.
 */

import React from 'react';

import { IPlotlyFigure } from '../../api/drift';
import { PlotlyBox, themeVar } from '../plotly';

function themed(el: HTMLElement, layout: Record<string, unknown>): Record<string, unknown> {
  const v = (name: string, fallback: string) => themeVar(el, name, fallback);
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
  };
}

/** Draws `figure`; the container gets `data-rendered="plotly"` once it is drawn. */
export function PlotlyFigure(props: {
  figure: IPlotlyFigure;
  testId: string;
}): JSX.Element {
  const { figure } = props;
  return (
    <PlotlyBox
      data={figure.data as unknown[]}
      layout={el => themed(el, figure.layout)}
      figureKey={figure}
      testId={props.testId}
      boxClass="jp-mlops-drift-plotBox"
      plotClass="jp-mlops-drift-plot"
      what="plot"
    />
  );
}
