"""Specs of the tank arena plug-in: the arena, the tank's camera and status, its controls and
what it is rewarded for. Light: validation never imports torch."""

from __future__ import annotations

from typing import Any

from atrap_studio.core.outcome import Outcome, Score
from atrap_studio.core.specs import NodeSpec, PortSpec, Props, PropSpec

#: The options of discrete controls, in order: (drive, turn, fire) each.
DISCRETE_CONTROLS = (
    ("wait", (0, 0, -1)),
    ("forward", (1, 0, -1)),
    ("back", (-1, 0, -1)),
    ("turn left", (0, 1, -1)),
    ("turn right", (0, -1, -1)),
    ("forward left", (1, 1, -1)),
    ("forward right", (1, -1, -1)),
    ("fire", (0, 0, 1)),
)
#: What a tank can be rewarded for (``reward.tank_event``'s events).
EVENTS = ("hit_given", "hit_taken", "won", "lost", "time", "aim")
_SCENE_IN = PortSpec("scene", "Scene", "The tank arena.")
#: The arena's two tanks, as the nodes name them: the agent's and the opponent's.
TANKS = ("blue", "red")


def _tank(what: str) -> PropSpec:
    """The property naming which tank a node reads, drives or rewards (its spec's ``seat``)."""
    return PropSpec(
        "tank",
        "choice",
        "blue",
        f"{what}: blue, the agent's tank; red, the opponent's, for a second agent of "
        "the graph when the arena's opponent is 'learner'.",
        choices=TANKS,
    )


def _facts(props: Props) -> dict[str, Any]:
    discrete = props["controls"] == "discrete"
    learner = props["opponent"] == "learner"
    return {
        "tank_arena": True,
        "tank_actions": len(DISCRETE_CONTROLS) if discrete else 3,
        "discrete_actions": discrete,
        "differentiable": False,
        # the tanks the graph's agents drive: the red one too when a second agent is its driver
        "seats": TANKS if learner else TANKS[:1],
        "seat_word": "tank",
        "seats_hint": (
            "a second learning agent drives the red tank: set its nodes' 'tank' to red"
            if learner
            else "set the arena's opponent to 'learner' to let a second agent drive the red tank"
        ),
    }


def _outcome(props: Props) -> Outcome:
    return Outcome(
        score=Score("result", "fight result (+1 won, 0 draw, -1 lost)", "", better="higher"),
        success=(
            "destroyed the other tank before the time ran out"
            if props["opponent"] == "learner"
            else f"destroyed the {props['opponent']} opponent before the time ran out"
        ),
        snapshot="tank_arena",
        episode_word="fights",
    )


ARENA = NodeSpec(
    type="scene.tank_arena",
    version=1,
    title="Tank arena",
    category="scene",
    help=(
        "A walled arena where the agent's tank fights a scripted opponent, its own past self or "
        "a second learning agent of the graph: drive, turn and fire shells that fly until they "
        "hit a tank, a pillar or a wall. A fight ends when a tank is destroyed, or when the time "
        "is up. Many arenas run at once."
    ),
    impl="atrap_studio.nodes.scenes.tanks.nodes:TankArenaScene",
    inputs=(
        PortSpec(
            "actuators",
            "Action",
            "The tank controls' command; it drives the agent's tank.",
            multiple=True,
            feedback=True,
        ),
    ),
    outputs=(PortSpec("scene", "Scene", "The arenas, for the camera, status and rewards."),),
    props=(
        PropSpec("instances", "int", 1024, "How many arenas fight at once.", min=1, max=262_144),
        PropSpec(
            "map",
            "choice",
            "pillars",
            "open: no cover; pillars: four round pillars; random: six pillars of random size "
            "and place, new for every fight.",
            choices=("open", "pillars", "random"),
        ),
        PropSpec(
            "opponent",
            "choice",
            "wanderer",
            "Who the agent fights: idle (a target that stands still), wanderer (drives about "
            "and fires when it happens to face the agent), hunter (goes after what it sees and "
            "hears, aims ahead of a moving agent, hides behind a pillar while it reloads), "
            "past_self (self-play: the agent's own network from earlier in training, one of "
            "its last 5 copies, a new copy every 3,000 steps), learner (a second learning "
            "agent of this graph: its own network, trainer and nodes set to the red tank).",
            choices=("idle", "wanderer", "hunter", "past_self", "learner"),
        ),
        PropSpec(
            "episode_steps",
            "int",
            300,
            "Steps of 0.1 s before a fight is called a draw.",
            min=1,
            max=100_000,
        ),
        PropSpec("hits_to_kill", "int", 3, "Hits that destroy a tank.", min=1, max=100),
        PropSpec(
            "controls",
            "choice",
            "discrete",
            "discrete: each step the network picks one of 8 moves (wait, forward, back, turn "
            "left or right, forward and turn, fire); continuous: three values, drive, turn and "
            "fire (fires above 0).",
            choices=("discrete", "continuous"),
        ),
    ),
    facts=_facts,
    outcome=_outcome,
    examples=(
        "tanks_camera_ppo",
        "tanks_camera_dqn",
        "tanks_hunter_ppo",
        "tanks_self_play_ppo",
        "tanks_two_learners_ppo",
    ),
)

CAMERA = NodeSpec(
    type="sensor.camera",
    version=1,
    title="Tank camera",
    category="sensor",
    help=(
        "What the agent's tank sees ahead: a strip of rays fanned over the field of view, each "
        "telling how far the first thing it meets is and whether that is the enemy tank or a "
        "shell the enemy fired — a one-line picture of depth and colour."
    ),
    impl="atrap_studio.nodes.scenes.tanks.nodes:Camera",
    inputs=(_SCENE_IN,),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "Per ray, left to right: the distance (as a share of the arena's diagonal); then "
            "per ray whether it sees the enemy (1) or not (0); then whether it sees an enemy "
            "shell in flight.",
            shape=lambda p, f: (3 * p["rays"],),
        ),
        PortSpec(
            "image",
            "Image",
            "The same strip as a picture one pixel high and one pixel per ray, with three "
            "channels (distance, enemy, enemy shell): link it into an NN Factory's 'image' to "
            "read it with convolution layers.",
            shape=lambda p, f: (1, p["rays"], 3),
        ),
    ),
    props=(
        PropSpec("rays", "int", 32, "Rays across the field of view.", min=1, max=4096),
        PropSpec("fov_deg", "float", 90.0, "Field of view in degrees.", min=1.0, max=360.0),
        _tank("Which tank's camera"),
    ),
    requires_facts=("tank_arena",),
    seat="tank",
)

STATUS = NodeSpec(
    type="sensor.tank_status",
    version=1,
    title="Tank status",
    category="sensor",
    help="The agent's own state: health left and whether its gun is loaded (2 values).",
    impl="atrap_studio.nodes.scenes.tanks.nodes:Status",
    inputs=(_SCENE_IN,),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "Health as a share of a full tank, and 1 when it can fire (else 0).",
            shape=lambda p, f: (2,),
        ),
    ),
    props=(_tank("Which tank's health and gun"),),
    requires_facts=("tank_arena",),
    seat="tank",
)

HEARING = NodeSpec(
    type="sensor.hearing",
    version=1,
    title="Hearing",
    category="sensor",
    help=(
        "Where the enemy's last shot came from, heard even when the enemy is out of sight: "
        "how loud it still is (1 when fired, fading to 0) and its direction from where the "
        "agent's tank faces (3 values)."
    ),
    impl="atrap_studio.nodes.scenes.tanks.nodes:Hearing",
    inputs=(_SCENE_IN,),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "Loudness in [0, 1], then the cosine and sine of the shot's bearing (ahead: 1, 0; "
            "to the left: 0, 1), both 0 while nothing is heard.",
            shape=lambda p, f: (3,),
        ),
    ),
    props=(
        PropSpec(
            "memory_steps",
            "int",
            10,
            "Steps over which a heard shot fades away (10 steps are 1 s).",
            min=1,
            max=10_000,
        ),
        PropSpec(
            "range_m",
            "float",
            12.0,
            "Farthest a shot is heard from, in metres (the arena is 16 m across).",
            min=0.0,
            max=1_000.0,
        ),
        _tank("Which tank listens"),
    ),
    requires_facts=("tank_arena",),
    seat="tank",
)

CONTROLS = NodeSpec(
    type="action.tank_controls",
    version=1,
    title="Tank controls",
    category="action",
    help=(
        "Drives the agent's tank from the network's values: with discrete controls the move "
        "with the highest value (one value per move); with continuous ones drive, turn and fire."
    ),
    impl="atrap_studio.nodes.scenes.tanks.nodes:Controls",
    inputs=(
        PortSpec(
            "values",
            "Vector",
            "One value per move (discrete), or drive, turn, fire (continuous).",
            shape=lambda p, f: (f["tank_actions"],),
        ),
    ),
    outputs=(PortSpec("command", "Action", "Link into the arena's 'actuators'."),),
    props=(
        PropSpec(
            "difficulty",
            "float",
            1.0,
            "How well the trained tank plays when you play against it (Run → Play Against the "
            "Network): 1 as trained; lower, it reacts later and makes more random moves. "
            "Training ignores it.",
            min=0.0,
            max=1.0,
        ),
        _tank("Which tank it drives"),
    ),
    requires_facts=("tank_actions",),
    seat="tank",
)

EVENT = NodeSpec(
    type="reward.tank_event",
    version=1,
    title="Tank reward",
    category="reward",
    help=(
        "Rewards (or punishes, with a negative weight) one thing that happens in a fight. Link "
        "several into the trainer to shape what the tank learns."
    ),
    impl="atrap_studio.nodes.scenes.tanks.nodes:Event",
    inputs=(_SCENE_IN,),
    outputs=(PortSpec("reward", "Reward", "Link into a trainer's 'reward' (or a sum)."),),
    props=(
        PropSpec(
            "event",
            "choice",
            "hit_given",
            "hit_given: the agent's shell hit the enemy; hit_taken: the agent was hit; won: "
            "the enemy was destroyed; lost: the agent was destroyed; time: every step (a "
            "negative weight hurries it); aim: how well the gun points at an enemy in sight "
            "(1 dead on, 0 at 90° or more, or out of sight) — a shaping term.",
            choices=EVENTS,
        ),
        PropSpec("weight", "float", 1.0, "Multiplies the reward.", min=-1e6, max=1e6),
        _tank("Which tank's side of the fight it scores"),
    ),
    requires_facts=("tank_arena",),
    seat="tank",
)

SPECS = (ARENA, CAMERA, STATUS, HEARING, CONTROLS, EVENT)
