"""Offline evaluation: metrics for retrieval, answers, citations, refusals and latency."""
