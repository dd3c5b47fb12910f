/**
 * The DAG of a pipeline as an SVG layered layout: one column per depth
 * (the server's `graph.levels`), edges as curves from upstream to downstream.
 * With a run shown, each node is coloured by its step's status and carries
 * its cell progress.
 */

import React from 'react';

import { IGraph, IStepRun } from '../../api/pipelines';

const NODE_W = 150;
const NODE_H = 44;
const COL_GAP = 60;
const ROW_GAP = 16;
const PAD = 8;

export interface INodeBox {
  x: number;
  y: number;
}

/** Where each node goes: columns by level, rows centred on the tallest column. */
export function layout(graph: IGraph): {
  boxes: Record<string, INodeBox>;
  width: number;
  height: number;
} {
  const tallest = Math.max(1, ...graph.levels.map(l => l.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const boxes: Record<string, INodeBox> = {};
  graph.levels.forEach((level, col) => {
    const columnHeight = level.length * NODE_H + (level.length - 1) * ROW_GAP;
    const top = (height - columnHeight) / 2;
    level.forEach((name, row) => {
      boxes[name] = {
        x: PAD + col * (NODE_W + COL_GAP),
        y: top + row * (NODE_H + ROW_GAP)
      };
    });
  });
  const width =
    PAD * 2 + graph.levels.length * NODE_W + Math.max(0, graph.levels.length - 1) * COL_GAP;
  return { boxes, width, height };
}

function progress(step: IStepRun | undefined): string {
  if (!step) {
    return '';
  }
  if (step.status === 'running' || step.status === 'queued') {
    const total = step.cells_total ?? '?';
    return `${step.status} · cell ${step.cells_done}/${total}`;
  }
  if (step.duration_s !== null && step.status === 'succeeded') {
    return `${step.status} · ${step.duration_s.toFixed(1)} s`;
  }
  return step.status;
}

export function PipelineDag(props: {
  graph: IGraph;
  steps?: IStepRun[];
  onSelect?: (step: string) => void;
}): JSX.Element {
  const { boxes, width, height } = layout(props.graph);
  const byName: Record<string, IStepRun> = {};
  for (const step of props.steps ?? []) {
    byName[step.name] = step;
  }
  return (
    <svg
      className="jp-mlops-pipelines-dag"
      data-testid="pipelines-dag"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label="Pipeline steps and their dependencies"
    >
      {props.graph.edges.map(([from, to]) => {
        const a = boxes[from];
        const b = boxes[to];
        if (!a || !b) {
          return null;
        }
        const x1 = a.x + NODE_W;
        const y1 = a.y + NODE_H / 2;
        const x2 = b.x;
        const y2 = b.y + NODE_H / 2;
        const mid = (x1 + x2) / 2;
        return (
          <path
            key={`${from}->${to}`}
            className="jp-mlops-pipelines-edge"
            data-edge={`${from}->${to}`}
            d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 4},${y2}`}
            markerEnd="url(#jp-mlops-arrow)"
          />
        );
      })}
      <defs>
        <marker
          id="jp-mlops-arrow"
          viewBox="0 0 8 8"
          refX="4"
          refY="4"
          markerWidth="6"
          markerHeight="6"
          orient="auto"
        >
          <path d="M0,0 L8,4 L0,8 z" className="jp-mlops-pipelines-arrow" />
        </marker>
      </defs>
      {props.graph.nodes.map(name => {
        const box = boxes[name];
        const step = byName[name];
        const status = step?.status ?? 'idle';
        return (
          <g
            key={name}
            className={`jp-mlops-pipelines-node jp-mlops-status-${status}`}
            data-testid={`dag-node-${name}`}
            data-status={status}
            transform={`translate(${box.x},${box.y})`}
            onClick={() => props.onSelect?.(name)}
          >
            <title>{step?.error?.message ?? name}</title>
            <rect width={NODE_W} height={NODE_H} rx={4} />
            <text x={8} y={18} className="jp-mlops-pipelines-nodeName">
              {name.length > 20 ? name.slice(0, 19) + '…' : name}
            </text>
            <text x={8} y={34} className="jp-mlops-pipelines-nodeStatus">
              {progress(step)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
