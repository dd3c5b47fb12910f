/**
 * The Pipelines icon (the panel's tab, its commands and spec files in the list).
 */

import { LabIcon } from '@jupyterlab/ui-components';

export const pipelinesIcon = new LabIcon({
  name: 'jupyter-mlops:pipelines',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<path class="jp-icon3" fill="#616161" d="M3 4h6v5H3zm12 0h6v5h-6zM9 15h6v5H9z' +
    'M6 9h1.5v3.2L12 14.5l-.7 1.3L6 13zm12 0h-1.5v3.2L12 14.5l.7 1.3L18 13z"/></svg>'
});
