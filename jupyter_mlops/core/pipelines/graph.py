"""The step graph of a pipeline: dependencies, order, and cycles named.

A step depends on the steps in its `depends_on` and on every step whose
outputs its parameters reference (`${steps.prepare.outputs.rows}`), so a
reference alone is enough to order two steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import PipelineSpec


@dataclass
class PipelineGraph:
    """Steps in spec order, with their direct upstream steps."""

    steps: list[str]
    upstream: dict[str, list[str]]
    downstream: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.downstream = {name: [] for name in self.steps}
        for name in self.steps:
            for dep in self.upstream[name]:
                self.downstream[dep].append(name)

    def order(self) -> list[str]:
        """A topological order that keeps the spec's order where dependencies allow."""
        done: set[str] = set()
        out: list[str] = []
        remaining = list(self.steps)
        while remaining:
            for name in remaining:
                if all(dep in done for dep in self.upstream[name]):
                    out.append(name)
                    done.add(name)
                    remaining.remove(name)
                    break
            else:  # pragma: no cover - build_graph refuses cycles
                raise RuntimeError("cycle")
        return out

    def descendants(self, name: str) -> list[str]:
        """Every step downstream of `name`, transitively, in order."""
        seen: set[str] = set()
        stack = list(self.downstream[name])
        while stack:
            item = stack.pop()
            if item not in seen:
                seen.add(item)
                stack.extend(self.downstream[item])
        return [s for s in self.order() if s in seen]

    def ready(self, finished: set[str], started: set[str]) -> list[str]:
        """Steps whose upstream steps all finished and that have not started."""
        return [s for s in self.order()
                if s not in started and all(d in finished for d in self.upstream[s])]

    def levels(self) -> list[list[str]]:
        """Steps grouped by depth: what the panel draws as columns of the DAG."""
        depth: dict[str, int] = {}
        for name in self.order():
            depth[name] = 1 + max((depth[d] for d in self.upstream[name]), default=-1)
        out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for name in self.order():
            out[depth[name]].append(name)
        return out

    def to_dict(self) -> dict[str, object]:
        return {"nodes": list(self.steps),
                "edges": [[dep, name] for name in self.steps for dep in self.upstream[name]],
                "levels": self.levels()}


def find_cycle(upstream: dict[str, list[str]], order: list[str]) -> list[str] | None:
    """One cycle as [a, b, …, a] following depends_on edges, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {name: WHITE for name in order}
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        color[name] = GREY
        path.append(name)
        for dep in upstream.get(name, []):
            if color.get(dep) == GREY:
                return path[path.index(dep):] + [dep]
            if color.get(dep) == WHITE:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        color[name] = BLACK
        return None

    for name in order:
        if color[name] == WHITE:
            found = visit(name)
            if found:
                return found
    return None


def build_graph(spec: PipelineSpec) -> PipelineGraph:
    """The graph of `spec`; InvalidInput naming the cycle (a → b → a) if there is one."""
    from .spec import step_references

    names = [s.name for s in spec.steps]
    upstream: dict[str, list[str]] = {}
    for step in spec.steps:
        deps = list(dict.fromkeys(step.depends_on))
        for _param, ref in step_references(step):
            if ref[0] == "steps" and ref[1] not in deps and ref[1] in names:
                deps.append(ref[1])
        upstream[step.name] = deps
    cycle = find_cycle(upstream, names)
    if cycle:
        # reported as data flows (upstream first): a → b → a reads "a feeds b feeds a"
        flow = list(reversed(cycle))
        index = names.index(flow[0])
        raise spec.error(f"the steps form a cycle: {' → '.join(flow)}",
                         "steps", index, "depends_on", cycle=flow)
    return PipelineGraph(names, upstream)
