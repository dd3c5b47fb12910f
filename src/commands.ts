/**
 * Every command id of the extension, in one place.
 */

export namespace CommandIDs {
  export const openPanel = 'mlops:open-panel';
  export const refresh = 'mlops:refresh';
  export const showInfo = 'mlops:show-workspace-info';
}

/** The command palette category of every MLOps command. */
export const PALETTE_CATEGORY = 'MLOps';

/** Commands of the Experiments panel; its plugin adds them to the palette itself. */
export namespace ExperimentsCommandIDs {
  export const open = 'mlops:open-experiments';
}

/** Commands of the Datasets panel; its plugin adds them to the palette itself. */
export namespace DatasetsCommandIDs {
  export const open = 'mlops:open-datasets';
}

/** Commands of the Drift panel; its plugin adds them to the palette itself. */
export namespace DriftCommandIDs {
  export const open = 'mlops:open-drift';
}

/** Commands of the Pipelines panel and the notebook "Run as pipeline" entries. */
export namespace PipelinesCommandIDs {
  export const open = 'mlops:open-pipelines';
  export const runNotebook = 'mlops:run-notebook-as-pipeline';
  export const scheduleNotebook = 'mlops:schedule-notebook';
}

/** Commands of the Models panel (registry and deployments). */
export namespace ModelsCommandIDs {
  export const open = 'mlops:open-models';
}

/** Commands of the Timeline panel (activity, monitors and alerts). */
export namespace TimelineCommandIDs {
  export const open = 'mlops:open-timeline';
}
