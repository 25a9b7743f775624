"""Play against a trained tank: one arena where a person drives the enemy tank.

The trained network drives the agent's tank from its camera exactly as in training; the person's
keys drive the other tank. A difficulty in [0, 1] makes the network beatable the way game AI is
tuned: it reacts late (its moves are played up to ``MAX_DELAY`` steps after it chose them), it
lapses (a share of its moves are random), and with continuous controls its aim wobbles. At 1 it
plays as trained.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import RunError
from atrap_studio.nodes import builtin_registry
from atrap_studio.nodes.scenes.tanks.arena import TankArena
from atrap_studio.nodes.scenes.tanks.opponents import PLAYER
from atrap_studio.nodes.scenes.tanks.snapshot import TankSnapshot
from atrap_studio.runtime.pipeline import Pipeline

#: Steps (of 0.1 s) the network's moves arrive late at difficulty 0.
MAX_DELAY = 5
#: Share of random moves at difficulty 0.
MAX_LAPSES = 0.6


@dataclass(frozen=True)
class Frame:
    """What the play view shows after a step: the arena, and the fight's end if it ended."""

    snapshot: TankSnapshot
    ended: str  # "", "won" (the person won), "lost" or "draw"


class Duel:
    """One fight after another in a single arena of ``doc``'s tank scene.

    Args:
        doc: a graph whose scene is a tank arena (its sensors, network and action are used).
        weights: the trained network's state dict (from a network file or a running trainer).
        difficulty: 1 plays as trained, 0 reacts slowly and lapses often.
        seed: the arenas' and the lapses' random stream.

    Raises:
        RunError: the graph has no tank arena, or the weights do not fit its network.
    """

    def __init__(
        self,
        doc: GraphDocument,
        weights: dict[str, torch.Tensor],
        *,
        difficulty: float = 1.0,
        seed: int = 0,
    ) -> None:
        single = doc.model_copy(deep=True)
        scenes = [node for node in single.nodes if node.type == "scene.tank_arena"]
        if not scenes:
            raise RunError("play mode needs a graph whose scene is a tank arena")
        scenes[0].props["instances"] = 1
        self.pipeline = Pipeline(single, builtin_registry(), seed=seed)
        try:
            self.pipeline.network.load_state_dict(weights)
        except RuntimeError as exc:
            raise RunError(
                f"the network does not fit the graph's network '{self.pipeline.network_id}': {exc}",
                node=self.pipeline.network_id,
            ) from None
        arena = self.pipeline.scene
        assert isinstance(arena, TankArena)
        self.arena = arena
        arena.seat(PLAYER, "player")
        arena.restart(seed)
        self.handicap = Handicap(difficulty, torch.Generator().manual_seed(seed + 1))
        self.score = {"won": 0, "lost": 0, "draw": 0}

    @property
    def difficulty(self) -> float:
        return self.handicap.difficulty

    @difficulty.setter
    def difficulty(self, value: float) -> None:
        self.handicap.difficulty = value

    def step(self, drive: float, turn: float, fire: bool) -> Frame:
        """Play 0.1 s: the person's controls for the enemy tank, the network's for its own."""
        arena = self.arena
        arena.begin_step()
        arena.opponent_state["controls"] = torch.tensor([[drive, turn, 1.0 if fire else -1.0]])
        with torch.no_grad():
            values = self.pipeline.network(self.pipeline.observe(arena))
        self.pipeline.act(arena, self.handicap(values))
        ended = ""
        if bool(arena.done[0]):
            result = float(arena.result()[0])
            ended = "lost" if result > 0 else "won" if result < 0 else "draw"
            self.score[ended] += 1
            self.handicap.reset()
        return Frame(arena.snapshot([0]), ended)


class Handicap:
    """Weakens a network's moves, batched over arenas. With w = (1 - difficulty)², each
    arena's move is random with probability ``MAX_LAPSES · w``, continuous aim wobbles, and
    every move is played ``round(MAX_DELAY · w)`` steps after it was chosen (before that the
    tank waits)."""

    def __init__(self, difficulty: float, generator: torch.Generator) -> None:
        self.generator = generator
        self.difficulty = difficulty
        self._late: deque[torch.Tensor] = deque()

    @property
    def difficulty(self) -> float:
        return self._difficulty

    @difficulty.setter
    def difficulty(self, value: float) -> None:
        self._difficulty = min(1.0, max(0.0, float(value)))

    def reset(self) -> None:
        """Forget the moves on their way (a new fight begins)."""
        self._late.clear()

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        # squared: near full skill a step of difficulty takes little away (measured: with a
        # linear scale, 0.75 already lost every fight against the hunter)
        weakness = (1.0 - self._difficulty) ** 2
        rows, width = values.shape
        discrete = width != 3
        lapse = torch.rand(rows, generator=self.generator) < MAX_LAPSES * weakness
        if discrete:
            choice = torch.randint(width, (rows,), generator=self.generator)
            random_moves = torch.nn.functional.one_hot(choice, width).to(values.dtype) * 2 - 1
        else:
            random_moves = torch.rand(values.shape, generator=self.generator) * 2 - 1
            wobble = torch.randn(rows, generator=self.generator) * weakness * math.sqrt(0.5)
            values = values.clone()
            values[:, 1] += wobble
        self._late.append(torch.where(lapse[:, None], random_moves, values))
        delay = round(MAX_DELAY * weakness)
        while len(self._late) > delay + 1:
            self._late.popleft()
        if len(self._late) > delay:
            return self._late[0]
        waiting = torch.full_like(values, -1.0)  # discrete: move 0, wait
        if not discrete:
            waiting[:, :2] = 0.0  # stand still, hold fire
        return waiting
