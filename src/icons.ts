import { LabIcon } from '@jupyterlab/ui-components';

const mlopsSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2a10 10 0 1 0 10 10h-2a8 8 0 1 1-2.34-5.66L15 9h7V2l-2.93 2.93A9.96 9.96 0 0 0 12 2z"/>
    <circle cx="12" cy="12" r="3"/>
  </g>
</svg>`;

/** The loop arrow around a dot: the drift → retrain → deploy cycle. */
export const mlopsIcon = new LabIcon({ name: 'jupyter-mlops:loop', svgstr: mlopsSvg });
