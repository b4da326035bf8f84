"""Load and benchmark harness: ``python -m chat_server.bench`` (see docs/performance.md).

It starts a private Redis, a bare WebSocket relay for comparison (``bare_relay``) and real
server instances as subprocesses, drives visitors and counsellor bots through the real
protocol with the ``websockets`` client, and reports latency, Redis cost, memory per idle
connection, claim races, delivery correctness and the time to come back after a crash.
"""
