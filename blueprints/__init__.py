"""skyrelay.blueprints: whole-stack compositions, one module per cloud, chosen by `program.run`."""
