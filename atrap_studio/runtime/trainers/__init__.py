"""Trainers: how a network learns from rewards (direct gradient, PPO)."""
