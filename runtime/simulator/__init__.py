"""A wire-level simulator of Bedrock, Azure OpenAI, Vertex AI and OpenAI chat APIs, with fault injection.

`skyrelay simulate --port N` serves it; tests use `launch.start_in_thread()`. See docs/simulator.md.
"""
