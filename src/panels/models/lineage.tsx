/**
 * A version's lineage as columns by distance from the version: each node a
 * card naming its kind, its label and the relation that reached it. Clicking
 * a card opens its object: a run in the Experiments panel, a notebook in
 * JupyterLab, a dataset version in the Datasets panel, a commit copied.
 */

import React from 'react';

import { ILineage, ILineageNode } from '../../api/registry';
import { IModelsOpeners } from './registry';

/** Depth of every node from the root, following edges (what it was made from). */
export function depths(graph: ILineage): Map<string, number> {
  const depth = new Map<string, number>([[graph.root, 0]]);
  const queue = [graph.root];
  while (queue.length) {
    const current = queue.shift() as string;
    for (const edge of graph.edges) {
      if (edge.source === current && !depth.has(edge.target)) {
        depth.set(edge.target, (depth.get(current) ?? 0) + 1);
        queue.push(edge.target);
      }
    }
  }
  const last = Math.max(0, ...depth.values()) + 1;
  for (const node of graph.nodes) {
    if (!depth.has(node.id)) {
      depth.set(node.id, last);
    }
  }
  return depth;
}

function openNode(node: ILineageNode, openers: IModelsOpeners, onModel: (v: number) => void): void {
  const target = node.open;
  if (!target) {
    return;
  }
  switch (target.type) {
    case 'run':
      openers.openRun(target.run_id);
      break;
    case 'notebook':
      openers.openNotebook(target.path);
      break;
    case 'dataset':
      openers.openDataset(target.name, target.version);
      break;
    case 'model':
      onModel(target.version);
      break;
    case 'git':
      openers.copy(target.commit, 'commit');
      break;
    case 'artifact':
      openers.copy(`runs:/${target.run_id}/${target.path}`, 'artifact URI');
      break;
  }
}

function openHint(node: ILineageNode): string {
  switch (node.open?.type) {
    case 'run':
      return 'Open the run in the Experiments panel';
    case 'notebook':
      return 'Open the notebook';
    case 'dataset':
      return 'Open the Datasets panel';
    case 'git':
      return 'Copy the commit';
    case 'artifact':
      return 'Copy the artifact URI';
    default:
      return '';
  }
}

function summary(node: ILineageNode): string {
  const d = node.data;
  const note = typeof d.note === 'string' ? d.note : '';
  if (node.kind === 'executed_notebook' && d.parameters && typeof d.parameters === 'object') {
    const params = Object.entries(d.parameters as Record<string, unknown>)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ');
    return params ? `parameters: ${params}` : note;
  }
  if (node.kind === 'dataset_version' && typeof d.rows === 'number') {
    return `${d.rows} rows${d.context ? ` · ${d.context}` : ''}`;
  }
  if (node.kind === 'run' && typeof d.status === 'string') {
    return `${d.status}${d.user ? ` · ${d.user}` : ''}`;
  }
  if (node.kind === 'git_commit' && typeof d.branch === 'string') {
    return d.branch;
  }
  return note;
}

export function LineageView(props: {
  graph: ILineage;
  openers: IModelsOpeners;
  onModel: (version: number) => void;
}): JSX.Element {
  const { graph, openers } = props;
  const depth = depths(graph);
  const columns: ILineageNode[][] = [];
  for (const node of graph.nodes) {
    const d = depth.get(node.id) ?? 0;
    (columns[d] = columns[d] ?? []).push(node);
  }
  const reachedBy = new Map(graph.edges.map(e => [e.target, e.relation]));
  return (
    <div className="jp-mlops-models-lineage" data-testid="lineage">
      {columns.map((nodes, i) => (
        <div key={i} className="jp-mlops-models-lineageColumn">
          {nodes.map(node => (
            <button
              key={node.id}
              type="button"
              className={`jp-mlops-models-lineageNode jp-mlops-kind-${node.kind}${node.missing ? ' jp-mod-missing' : ''}`}
              data-testid={`lineage-node-${node.kind}`}
              data-node-id={node.id}
              disabled={!node.open}
              title={[openHint(node), JSON.stringify(node.data, null, 1).slice(0, 600)]
                .filter(Boolean)
                .join('\n')}
              onClick={() => openNode(node, openers, props.onModel)}
            >
              {reachedBy.has(node.id) && (
                <span className="jp-mlops-models-relation">{reachedBy.get(node.id)} →</span>
              )}
              <span className="jp-mlops-models-kind">
                {node.kind.replace(/_/g, ' ')}
                {node.missing ? ' (missing)' : ''}
              </span>
              <span className="jp-mlops-models-nodeLabel">{node.label}</span>
              <span className="jp-mlops-Muted">{summary(node)}</span>
            </button>
          ))}
        </div>
      ))}
    </div>
  );
}
