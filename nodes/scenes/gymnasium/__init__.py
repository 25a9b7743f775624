"""The gymnasium scene plug-in: any installed gymnasium environment as a scene."""
