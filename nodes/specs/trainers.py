"""Trainer node specs: how the network learns from the rewards, and for how long."""

from __future__ import annotations

from atrap_studio.core.specs import NodeSpec, PortSpec, PropSpec

_INPUTS = (
    PortSpec("network", "Network", "The network to train (from an NN Factory)."),
    PortSpec("reward", "Reward", "What to maximise; several rewards are added.", multiple=True),
)


def _budget_and_exploration(
    steps: int, explore_from: float, explore_steps: int, explore_to: float = 0.0
) -> tuple[PropSpec, ...]:
    """Properties every trainer shares: its budget, its goal and the exploration schedule."""
    return (
        PropSpec("steps", "int", steps, "Training updates to run at most.", min=1, max=10**9),
        PropSpec(
            "goal_success_rate",
            "float",
            0.95,
            "Stop early once this share of fresh test episodes succeeds (0: never stop early).",
            min=0.0,
            max=1.0,
        ),
        PropSpec(
            "eval_every",
            "int",
            100,
            "Test the network every this many updates.",
            min=1,
            max=10**9,
        ),
        PropSpec(
            "eval_episodes", "int", 2048, "Fresh episodes in each test.", min=1, max=1_000_000
        ),
        PropSpec(
            "explore_from",
            "float",
            explore_from,
            "Share of actions taken at random at the start (the rest are the network's).",
            min=0.0,
            max=1.0,
        ),
        PropSpec(
            "explore_to",
            "float",
            explore_to,
            "Share of random actions at the end of the schedule.",
            min=0.0,
            max=1.0,
        ),
        PropSpec(
            "explore_steps",
            "int",
            explore_steps,
            "Updates over which random actions give way to the network's.",
            min=0,
            max=10**9,
        ),
        PropSpec("seed", "int", 0, "Seed of the scene and of exploration.", min=0, max=2**31 - 1),
        PropSpec(
            "checkpoint_every",
            "int",
            500,
            "Save a checkpoint every this many updates.",
            min=1,
            max=10**9,
        ),
        PropSpec(
            "log_every", "int", 10, "Report metrics every this many updates.", min=1, max=10**6
        ),
    )


DIRECT = NodeSpec(
    type="trainer.direct",
    version=1,
    title="Direct trainer",
    category="trainer",
    help=(
        "Learns through the gradient of the reward, which a kinematic scene can give: the "
        "fastest way to learn to reach. Needs a differentiable scene and a smooth reward."
    ),
    impl="atrap_studio.runtime.trainers.direct:DirectTrainer",
    inputs=_INPUTS,
    props=(
        PropSpec(
            "lr",
            "float",
            0.02,
            "Peak learning rate (Adam); the arm's 3 x 128 network learns best near 0.02 "
            "(0.01: coarser, 0.03: diverges). Wider and deeper networks need less (5 x 256: "
            "0.006).",
            min=1e-7,
            max=1.0,
        ),
        PropSpec(
            "lr_schedule",
            "choice",
            "cosine",
            "constant, or cosine: the rate falls smoothly to 1% by the last update "
            "(finer precision at the end).",
            choices=("constant", "cosine"),
        ),
        PropSpec(
            "grad_clip", "float", 1.0, "Largest gradient norm (0: no clipping).", min=0.0, max=1e6
        ),
        *_budget_and_exploration(steps=10_000, explore_from=0.5, explore_steps=300),
    ),
    requires_facts=("differentiable",),
)

PPO = NodeSpec(
    type="trainer.ppo",
    version=1,
    title="PPO trainer",
    category="trainer",
    help=(
        "Proximal Policy Optimisation: learns by trial and reward alone, with no gradient from "
        "the scene. Works with any scene and reward."
    ),
    impl="atrap_studio.runtime.trainers.ppo:PPOTrainer",
    inputs=_INPUTS,
    props=(
        PropSpec("lr", "float", 0.003, "Learning rate of the policy (Adam).", min=1e-7, max=1.0),
        PropSpec(
            "critic_lr",
            "float",
            0.0,
            "Learning rate of the critic (0: the same as the policy's).",
            min=0.0,
            max=1.0,
        ),
        PropSpec(
            "lr_schedule",
            "choice",
            "cosine",
            "How both rates change over the run: constant; cosine, falling smoothly to 1% by "
            "the last update; or linear, falling evenly to 1%.",
            choices=("constant", "cosine", "linear"),
        ),
        PropSpec(
            "horizon",
            "int",
            2,
            "Steps each scene instance plays per update (few for thousands of arms; 64-128 for "
            "a few gym scenes).",
            min=1,
            max=100_000,
        ),
        PropSpec("epochs", "int", 1, "Passes over each batch of experience.", min=1, max=100),
        PropSpec("minibatches", "int", 16, "Minibatches per pass.", min=1, max=1024),
        PropSpec("gamma", "float", 0.99, "Discount of future rewards.", min=0.0, max=1.0),
        PropSpec("gae_lambda", "float", 0.95, "GAE smoothing of advantages.", min=0.0, max=1.0),
        PropSpec("clip", "float", 0.3, "PPO ratio clipping.", min=0.01, max=1.0),
        PropSpec("value_coef", "float", 0.5, "Weight of the value loss.", min=0.0, max=100.0),
        PropSpec("entropy_coef", "float", 0.0, "Entropy bonus.", min=0.0, max=10.0),
        PropSpec(
            "init_std",
            "float",
            0.1,
            "Initial spread of the network's own trial actions.",
            min=0.001,
            max=10.0,
        ),
        PropSpec(
            "grad_clip",
            "float",
            0.5,
            "Largest gradient norm, of the policy and of the critic each (0: no clipping).",
            min=0.0,
            max=1e6,
        ),
        PropSpec(
            "value_clip",
            "bool",
            False,
            "Clip the critic's step too: its value may move at most 'clip' from the one it "
            "had when the experience was gathered (steadier on rewards of large size).",
        ),
        PropSpec(
            "scale_rewards",
            "bool",
            False,
            "Divide rewards by the running spread of the discounted return, so that the critic "
            "learns values of a steady size whatever the reward's units (the curves still show "
            "the rewards as given).",
        ),
        PropSpec(
            "target_kl",
            "float",
            0.0,
            "Stop a batch's passes early once the policy has moved this far from the one that "
            "played it (approximate KL divergence; 0: always make every pass; 0.01-0.05 usual).",
            min=0.0,
            max=10.0,
        ),
        *_budget_and_exploration(steps=1100, explore_from=0.3, explore_steps=50),
    ),
)

SAC = NodeSpec(
    type="trainer.sac",
    version=1,
    title="SAC trainer",
    category="trainer",
    help=(
        "Soft Actor-Critic: learns by trial and reward, off-policy, from a replay buffer of all "
        "the experience so far, so it needs far fewer scene steps than on-policy learning "
        "(and more computing per step). For continuous actions; the network's output must be "
        "tanh."
    ),
    impl="atrap_studio.runtime.trainers.sac:SACTrainer",
    inputs=_INPUTS,
    props=(
        PropSpec("lr", "float", 0.0003, "Learning rate of the policy (Adam).", min=1e-7, max=1.0),
        PropSpec(
            "critic_lr",
            "float",
            0.001,
            "Learning rate of the two critics and of the entropy weight (Adam).",
            min=1e-7,
            max=1.0,
        ),
        PropSpec(
            "horizon",
            "int",
            1,
            "Steps each scene instance plays per update; each step is stored for replay.",
            min=1,
            max=100_000,
        ),
        PropSpec(
            "updates",
            "int",
            1,
            "Gradient steps per update, each on a minibatch drawn from the replay buffer.",
            min=1,
            max=10_000,
        ),
        PropSpec("batch_size", "int", 256, "Transitions in each minibatch.", min=1, max=1_000_000),
        PropSpec(
            "buffer_size",
            "int",
            200_000,
            "Transitions the replay buffer keeps (the oldest give way); checkpoints hold them.",
            min=1,
            max=100_000_000,
        ),
        PropSpec("gamma", "float", 0.99, "Discount of future rewards.", min=0.0, max=1.0),
        PropSpec(
            "tau",
            "float",
            0.005,
            "How fast the critics' slow copies (which give the learning targets) follow them.",
            min=0.0,
            max=1.0,
        ),
        PropSpec(
            "alpha",
            "float",
            0.2,
            "Weight of the entropy bonus (the starting value when it tunes itself).",
            min=1e-6,
            max=100.0,
        ),
        PropSpec(
            "auto_alpha",
            "bool",
            True,
            "Tune the entropy weight so the policy keeps about one unit of randomness less "
            "than its number of actions (the usual target).",
        ),
        PropSpec(
            "init_std",
            "float",
            1.0,
            "Initial spread of the trials before the tanh squash.",
            min=0.001,
            max=10.0,
        ),
        PropSpec(
            "grad_clip",
            "float",
            0.0,
            "Largest gradient norm, of the policy and of the critics each (0: no clipping).",
            min=0.0,
            max=1e6,
        ),
        *_budget_and_exploration(steps=20_000, explore_from=1.0, explore_steps=100),
    ),
)

DQN = NodeSpec(
    type="trainer.dqn",
    version=1,
    title="DQN trainer",
    category="trainer",
    help=(
        "Deep Q-learning: for a scene whose action is one of n options. The network gives one "
        "value per option, the reward to expect after choosing it, and learns them off-policy "
        "from a replay buffer of all the experience so far (double DQN, with a target copy). "
        "While learning, a share of the choices is random (the exploration schedule); the rest, "
        "and the trained network, take the option of highest value. Leave the network's output "
        "linear."
    ),
    impl="atrap_studio.runtime.trainers.dqn:DQNTrainer",
    inputs=_INPUTS,
    props=(
        PropSpec("lr", "float", 0.002, "Learning rate (Adam).", min=1e-7, max=1.0),
        PropSpec(
            "lr_schedule",
            "choice",
            "linear",
            "How the rate changes over the run: constant; cosine, falling smoothly to 1% by "
            "the last update; or linear, falling evenly to 1% (steadier values near the end).",
            choices=("constant", "cosine", "linear"),
        ),
        PropSpec(
            "horizon",
            "int",
            1,
            "Steps each scene instance plays per update; each step is stored for replay.",
            min=1,
            max=100_000,
        ),
        PropSpec(
            "updates",
            "int",
            1,
            "Gradient steps per update, each on a minibatch drawn from the replay buffer.",
            min=1,
            max=10_000,
        ),
        PropSpec("batch_size", "int", 64, "Transitions in each minibatch.", min=1, max=1_000_000),
        PropSpec(
            "buffer_size",
            "int",
            100_000,
            "Transitions the replay buffer keeps (the oldest give way); checkpoints hold them.",
            min=1,
            max=100_000_000,
        ),
        PropSpec("gamma", "float", 0.99, "Discount of future rewards.", min=0.0, max=1.0),
        PropSpec(
            "target_every",
            "int",
            128,
            "Gradient steps between copies of the network into its target copy, which scores "
            "the next states in the learning targets. Each copy lets the values grow by about "
            "one step's reward, so longer is steadier but slower to learn long returns.",
            min=1,
            max=10**9,
        ),
        PropSpec(
            "double",
            "bool",
            True,
            "Double DQN: the network picks the next option and the target copy scores it, "
            "which keeps values from creeping upwards (off: the copy's highest value).",
        ),
        PropSpec(
            "grad_clip",
            "float",
            10.0,
            "Largest gradient norm (0: no clipping).",
            min=0.0,
            max=1e6,
        ),
        *_budget_and_exploration(
            steps=10_000, explore_from=1.0, explore_steps=1_000, explore_to=0.05
        ),
    ),
)

SPECS = (DIRECT, PPO, SAC, DQN)
