"""Feature selection fitted inside each training fold."""

from ._relevance_redundancy import RelevanceRedundancySelector

__all__ = ["RelevanceRedundancySelector"]
