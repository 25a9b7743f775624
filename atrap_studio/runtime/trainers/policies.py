"""The two kinds of stochastic policy a trial-and-reward trainer samples from.

A Gaussian around the network's output for continuous actions, and a categorical choice among
the network's outputs (its logits) for a scene whose action is one of n options. Both blend in
the exploration schedule's uniform random actions: with a share ε of random trials the
behaviour policy is (1 - ε)·π + ε·U, and log-probabilities are taken under that mixture, so
random trials still give an unbiased on-policy gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from atrap_studio.runtime.networks import NORMALIZE_EPS, Normalize

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_LOG_HALF = math.log(0.5)


class LogStd(torch.nn.Module):
    """The Gaussian policy's spread: one learnable log standard deviation per action.

    A module of its own so that checkpoints and the optimiser treat it like a network.
    """

    def __init__(self, actions: int, init_std: float) -> None:
        super().__init__()
        self.log_std = torch.nn.Parameter(torch.full((actions,), math.log(init_std)))


class ReturnScale(torch.nn.Module):
    """Rewards divided by the running spread of each instance's discounted return.

    As stable-baselines3's ``VecNormalize`` and gymnasium's ``NormalizeReward`` do: the critic
    then learns values of a steady size whatever the reward's units. A module, so that its
    statistics and the returns in progress are part of every checkpoint.
    """

    running: Tensor

    def __init__(self, instances: int, gamma: float) -> None:
        super().__init__()
        self.gamma = gamma
        self.stats = Normalize(1)
        self.register_buffer("running", torch.zeros(instances, dtype=torch.float64))

    @torch.no_grad()
    def scale(self, reward: Tensor, done: Tensor) -> Tensor:
        """The reward of one step, scaled; ``done`` ends those instances' returns."""
        self.running.mul_(self.gamma).add_(reward.double())
        self.stats.observe(self.running[:, None])
        scaled = reward / torch.sqrt(self.stats.var[0] + NORMALIZE_EPS)
        self.running.masked_fill_(done, 0.0)
        return scaled


@dataclass(frozen=True)
class Trial:
    """One batch of sampled actions.

    Attributes:
        values: what goes to the action nodes (N, A).
        taken: what the trainer stores to score the same actions later: the values themselves
            (Gaussian) or the chosen option's index (categorical), (N, A) or (N,).
        log_prob: log-probability of ``taken`` under the behaviour policy, (N,).
    """

    values: Tensor
    taken: Tensor
    log_prob: Tensor


def gaussian_log_prob(action: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    """log π(a) of a diagonal Gaussian, summed over the action's values: (N, A) -> (N,)."""
    z = (action - mean) * torch.exp(-log_std)
    return (-0.5 * z.square() - log_std - _LOG_SQRT_2PI).sum(-1)


def mixture_log_prob(log_pi: Tensor, action: Tensor, share: float) -> Tensor:
    """log((1 - ε)·π(a) + ε·U(a)), with U uniform on [-1, 1]^A and ε = ``share``.

    U's density is 0.5^A inside the box and 0 outside (a Gaussian trial may leave the box
    before it is clamped). ε = 0 gives log π itself; ε = 1 gives a constant: random trials
    alone say nothing about the network, so its ratio is 1 and its gradient zero.
    """
    if share <= 0.0:
        return log_pi
    uniform = action.shape[-1] * _LOG_HALF
    if share >= 1.0:
        return torch.full_like(log_pi, uniform) + 0.0 * log_pi  # keeps the graph, no gradient
    inside = (action.abs() <= 1.0).all(-1)
    log_u = torch.where(inside, math.log(share) + uniform, -math.inf)
    return torch.logaddexp(math.log1p(-share) + log_pi, log_u)


class GaussianPolicy:
    """A Gaussian around the network's output with a learnable spread per action."""

    discrete = False

    def __init__(self, spread: LogStd) -> None:
        self.spread = spread

    def sample(self, out: Tensor, share: float, generator: torch.Generator) -> Trial:
        log_std = self.spread.log_std
        noise = torch.randn(out.shape, generator=generator, device=out.device)
        action = out + torch.exp(log_std) * noise  # kept unclamped for its log-prob
        if share > 0:
            roll = torch.rand(out.shape[0], generator=generator, device=out.device)
            uniform = torch.rand(out.shape, generator=generator, device=out.device) * 2 - 1
            action = torch.where((roll < share)[:, None], uniform, action)
        log_pi = gaussian_log_prob(action, out, log_std)
        return Trial(action.clamp(-1.0, 1.0), action, mixture_log_prob(log_pi, action, share))

    def log_prob(self, out: Tensor, taken: Tensor, share: float) -> Tensor:
        log_pi = gaussian_log_prob(taken, out, self.spread.log_std)
        return mixture_log_prob(log_pi, taken, share)

    def entropy(self, out: Tensor) -> Tensor:
        """π's entropy (the same for every state: the spread does not depend on it)."""
        return (0.5 + _LOG_SQRT_2PI + self.spread.log_std).sum()


class CategoricalPolicy:
    """A choice among the network's outputs, which are the options' logits.

    The chosen option reaches the action node as +1 among -1s, so a node that takes the highest
    value (the gymnasium scene's discrete action) does what was sampled.
    """

    discrete = True

    def sample(self, out: Tensor, share: float, generator: torch.Generator) -> Trial:
        options = out.shape[-1]
        logits = torch.log_softmax(out, dim=-1)
        choice = torch.multinomial(logits.exp(), 1, generator=generator).squeeze(-1)
        if share > 0:
            roll = torch.rand(out.shape[0], generator=generator, device=out.device)
            uniform = torch.randint(
                options, (out.shape[0],), generator=generator, device=out.device
            )
            choice = torch.where(roll < share, uniform, choice)
        values = torch.nn.functional.one_hot(choice, options).to(out.dtype) * 2 - 1
        return Trial(values, choice, self._mixture(logits, choice, share))

    def log_prob(self, out: Tensor, taken: Tensor, share: float) -> Tensor:
        return self._mixture(torch.log_softmax(out, dim=-1), taken, share)

    def entropy(self, out: Tensor) -> Tensor:
        logits = torch.log_softmax(out, dim=-1)
        return -(logits.exp() * logits).sum(-1).mean()

    @staticmethod
    def _mixture(logits: Tensor, choice: Tensor, share: float) -> Tensor:
        log_pi = logits.gather(-1, choice[:, None]).squeeze(-1)
        if share <= 0.0:
            return log_pi
        log_u = math.log(share) - math.log(logits.shape[-1])
        if share >= 1.0:
            return torch.full_like(log_pi, log_u) + 0.0 * log_pi
        return torch.logaddexp(math.log1p(-share) + log_pi, torch.full_like(log_pi, log_u))
