"""Any valid graph as a gymnasium ``Env`` or ``VectorEnv``, so other RL tools train on it.

The graph's scene, sensors, actions and rewards make the environment; the place of its network
is the agent's: the observation is what the graph feeds the network (its sensors, concatenated),
the action is what the network would answer (values in [-1, 1], one per output), the reward is
the sum of the rewards linked into the trainer. Episodes end as the scene says, with time
limits reported as truncations. The network and trainer nodes are compiled but not used.
In a graph of several learning agents the env's agent is the first; the others play their own
networks (an ``nn.load`` of a trained one makes it the opponent), in the same scene step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_names, example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.pipeline import Pipeline

Obs = NDArray[np.float32]
GraphSource = GraphDocument | str | os.PathLike[str]


def _torch_seed(rng: np.random.Generator) -> int:
    """A scene seed drawn from gymnasium's generator, so ``reset(seed=...)`` fixes both."""
    return int(rng.integers(0, 2**63 - 1))


def graph_document(graph: GraphSource) -> tuple[GraphDocument, str]:
    """A graph from a document, a file, or the name of a shipped example; and its source."""
    if isinstance(graph, GraphDocument):
        return graph.model_copy(deep=True), "<graph>"
    path = Path(graph)
    if not path.is_file() and str(graph) in example_names():
        path = example_path(str(graph))
    return load_graph(path), str(path)


class _GraphTask:
    """What both envs share: the compiled graph with ``instances`` copies of its scene."""

    def __init__(self, graph: GraphSource, instances: int, device: str) -> None:
        doc, source = graph_document(graph)
        registry = builtin_registry()
        scene = next(n for n in doc.nodes if n.type.startswith("scene."))
        spec = registry.get(scene.type)
        if spec is None or spec.prop("instances") is None:
            raise ValueError(f"the scene '{scene.id}' ({scene.type}) has no 'instances' to set")
        scene.props["instances"] = instances
        self.pipeline = Pipeline(doc, registry, source=source, device=device)
        self.instances = instances
        self.scene = self.pipeline.scene
        self.score_key = self.pipeline.outcome.score.key
        with torch.no_grad():
            size = int(self.pipeline.observe(self.scene).shape[1])
        self.observation_space = spaces.Box(-np.inf, np.inf, (size,), np.float32)
        outputs = self.pipeline.architecture.outputs
        self.action_space = spaces.Box(-1.0, 1.0, (outputs,), np.float32)

    def restart(self, seed: int | None) -> None:
        with torch.no_grad():
            self.scene.restart(seed)

    def observe(self) -> Obs:
        """(N, size) float32, a fresh array each call."""
        with torch.no_grad():
            obs: Obs = self.pipeline.observe(self.scene).cpu().numpy().astype(np.float32)
        return obs

    def act(self, actions: Any) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
        """One step of every copy: rewards, terminated, truncated (ended ones not restarted)."""
        values = np.asarray(actions, dtype=np.float32).reshape(self.instances, -1)
        if values.shape[1] != self.action_space.shape[0]:
            raise ValueError(
                f"expected {self.instances} x {self.action_space.shape[0]} action values, "
                f"got shape {np.shape(actions)}"
            )
        with torch.no_grad():
            self.scene.begin_step()  # marks copies that restart during this step, if any
            action = torch.as_tensor(values, device=self.pipeline.device).clamp(-1.0, 1.0)
            # the graph's other agents, if any, answer by their own networks
            answers = [a.network(a.observe(self.scene)) for a in self.pipeline.agents[1:]]
            self.pipeline.act_together(self.scene, [action, *answers])
            terms = self.pipeline.rewards(self.scene)
            reward = torch.stack(list(terms.values())).sum(0)
            truncated = self.scene.truncated & self.scene.done
            terminated = self.scene.done & ~truncated
        return (
            reward.cpu().numpy().astype(np.float64),
            terminated.cpu().numpy().copy(),
            truncated.cpu().numpy().copy(),
        )

    def outcome(self) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        with torch.no_grad():
            result = self.scene.outcome()
        return (
            result[self.score_key].double().cpu().numpy(),
            result["success"].cpu().numpy().copy(),
        )


class GraphEnv(gymnasium.Env[NDArray[Any], NDArray[Any]]):
    """One copy of a graph's scene as a gymnasium ``Env`` (``atrap/Graph-v0``).

    Args:
        graph: a graph document, a graph file, or the name of a shipped example.
        device: where the scene's tensors live.
        render_mode: only ``None``; the studio draws its scenes itself.

    When an episode ends, ``info`` holds the scene's score (e.g. ``error_mm``, ``return``) and
    ``is_success``.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - gymnasium reads it

    def __init__(
        self, graph: GraphSource, device: str = "cpu", render_mode: str | None = None
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; this env has none")
        self.render_mode = render_mode
        self._task = _GraphTask(graph, 1, device)
        self.observation_space = self._task.observation_space
        self.action_space = self._task.action_space

    @property
    def pipeline(self) -> Pipeline:
        """The compiled graph, for inspection and tests."""
        return self._task.pipeline

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Obs, dict[str, Any]]:
        super().reset(seed=seed)
        self._task.restart(_torch_seed(self.np_random) if seed is not None else None)
        return self._task.observe()[0], {}

    def step(self, action: NDArray[Any]) -> tuple[Obs, float, bool, bool, dict[str, Any]]:
        reward, terminated, truncated = self._task.act(action)
        info: dict[str, Any] = {}
        if terminated[0] or truncated[0]:
            score, success = self._task.outcome()
            info = {self._task.score_key: float(score[0]), "is_success": bool(success[0])}
        return (
            self._task.observe()[0],
            float(reward[0]),
            bool(terminated[0]),
            bool(truncated[0]),
            info,
        )


class GraphVectorEnv(VectorEnv[NDArray[Any], NDArray[Any], NDArray[Any]]):
    """``num_envs`` copies of a graph's scene, one batched step each.

    Autoreset is ``SAME_STEP`` (in ``metadata``): an episode that ends in a step is restarted
    within it; the returned observation is the new episode's, the ended one's last observation
    is in ``info["final_obs"]`` (a dense array) and its score and success in
    ``info["final_info"]``, each with a ``_``-prefixed mask. A scene that restarts during the
    next step (a gymnasium ``NEXT_STEP`` vector environment inside the graph) makes it
    ``NEXT_STEP`` as gymnasium defines it: the step after an end ignores that copy's action and
    returns its new first observation with no reward; the score is then in ``info`` itself.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - gymnasium reads it
        "render_modes": [],
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }

    def __init__(
        self,
        graph: GraphSource,
        num_envs: int = 1,
        device: str = "cpu",
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; this env has none")
        self.render_mode = render_mode
        self.num_envs = num_envs
        self._task = _GraphTask(graph, num_envs, device)
        self.single_observation_space = self._task.observation_space
        self.single_action_space = self._task.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.next_step = self._task.scene.restarts_next_step
        mode = AutoresetMode.NEXT_STEP if self.next_step else AutoresetMode.SAME_STEP
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}

    @property
    def pipeline(self) -> Pipeline:
        return self._task.pipeline

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Obs, dict[str, Any]]:
        """Start new episodes everywhere; ``seed`` is one int for the whole batch."""
        if seed is not None and not isinstance(seed, int | np.integer):
            raise ValueError(
                f"the batch draws from one random stream: give one int seed, not {seed!r}"
            )
        super().reset(seed=None if seed is None else int(seed))
        self._task.restart(_torch_seed(self.np_random) if seed is not None else None)
        return self._task.observe(), {}

    def step(
        self, actions: NDArray[Any]
    ) -> tuple[Obs, NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        rewards, terminated, truncated = self._task.act(actions)
        ended = terminated | truncated
        infos: dict[str, Any] = {}
        obs = self._task.observe()
        if ended.any():
            score, success = self._task.outcome()
            key = self._task.score_key
            if self.next_step:  # restarted by the scene during the next step
                infos = {key: score, f"_{key}": ended.copy()}
                infos.update({"is_success": success, "_is_success": ended.copy()})
                return obs, rewards, terminated, truncated, infos
            infos = {
                "final_obs": obs,
                "_final_obs": ended.copy(),
                "final_info": {
                    key: score,
                    f"_{key}": ended.copy(),
                    "is_success": success,
                    "_is_success": ended.copy(),
                },
                "_final_info": ended.copy(),
            }
            with torch.no_grad():
                self._task.scene.begin_step()
            obs = self._task.observe()
        return obs, rewards, terminated, truncated, infos
