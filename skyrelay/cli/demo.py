"""`skyrelay demo`: the offline plans of the three dev stacks, then the async job API end to end.

1. Renders aws-dev, azure-dev and gcp-dev offline (no credentials) and prints their summaries.
2. Starts the provider simulator and the local runtime (API + in-process workers over SQLite) on
   loopback ports, with examples/local.yaml pointed at the simulator, and runs a scripted scenario:
   two tenants on different tiers submit jobs; the Free tenant runs into its tier's request rate;
   the primary `fast` deployment fails and the secondary takes over; a webhook arrives on a
   loopback receiver and its signature is verified with the `standardwebhooks` library; every job
   is polled to its final state.
"""

import typer

STACKS = ["aws-dev", "azure-dev", "gcp-dev"]
FREE_KEY, PRO_KEY = "sk-demo-free", "sk-demo-pro"  # demo-only keys from examples/local.yaml


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        config: str = typer.Option("examples/local.yaml", "--config", "-c", help="Router config with a jobs section."),
        skip_plans: bool = typer.Option(False, "--skip-plans", help="Skip the offline plan summaries."),
    ) -> None:
        """Offline plans for the dev stacks, then a scripted async-jobs scenario on loopback."""
        import asyncio
        import sys
        import time

        from rich.console import Console

        console = Console(width=None if sys.stdout.isatty() else 120)
        t0 = time.monotonic()
        if not skip_plans:
            from skyrelay.plan.summary import print_summaries

            console.rule("[bold]1. Offline plans")
            print_summaries(STACKS)
        console.rule("[bold]2. Async jobs on the local runtime")
        ok = asyncio.run(_scenario(console, config))
        console.print(f"\n[bold]demo finished in {time.monotonic() - t0:.1f} s[/bold]")
        if not ok:
            raise typer.Exit(1)


def _demo_config(path: str, sim_url: str, tmp: str):
    import yaml

    from skyrelay.runtime.config import parse_config

    with open(path) as f:
        raw = yaml.safe_load(f)
    for d in raw["deployments"]:
        d["endpoint"] = sim_url
    jobs = raw.setdefault("jobs", {})
    jobs.setdefault("store", {})["path"] = f"{tmp}/jobs.db"
    if raw.get("limiter", {}).get("backend") == "sqlite":  # a fresh window for every demo run
        raw["limiter"]["path"] = f"{tmp}/limits.db"
    jobs.setdefault("worker", {}).update({"poll_interval_s": 0.02})
    raw.setdefault("cache", {})["enabled"] = False
    return parse_config(raw, path)


async def _scenario(console, config_path: str) -> bool:
    import asyncio
    import socket
    import tempfile

    import aiohttp
    from aiohttp import web
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from standardwebhooks import Webhook, WebhookVerificationError

    from skyrelay.runtime.platforms.local import LocalRuntime
    from skyrelay.runtime.simulator.launch import SimControl, start_in_thread
    from skyrelay.tiers import TierName, default_tiers

    sim_url, stop_sim = start_in_thread(port=0)
    sim = SimControl(sim_url)
    tmp = tempfile.mkdtemp(prefix="skyrelay-demo-")
    cfg = _demo_config(config_path, sim_url, tmp)
    tenants = {t.name: t for t in cfg.tenants}
    tier_of = {FREE_KEY: tenants["demo-free"].tier, PRO_KEY: tenants["demo-pro"].tier}
    free_tier = default_tiers()[TierName(tier_of[FREE_KEY])]
    primary = cfg.deployment(cfg.models["fast"].deployments[0])
    secondary = cfg.deployment(cfg.models["fast"].deployments[1])

    # the webhook receiver, on loopback (the config's allow-list admits 127.0.0.1/32)
    received: list[tuple[dict, bytes]] = []

    async def hook(request):
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    rx_app = web.Application()
    rx_app.router.add_post("/hook", hook)
    rx = web.AppRunner(rx_app, access_log=None)
    await rx.setup()
    rx_site = web.TCPSite(rx, "127.0.0.1", 0)
    await rx_site.start()
    hook_url = f"http://127.0.0.1:{rx_site._server.sockets[0].getsockname()[1]}/hook"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rt = LocalRuntime(cfg)
    server = rt.server("127.0.0.1", port)
    await rt.start()
    serve_task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    console.print(f"simulator {sim_url} · runtime {base} ({len(rt.workers)} worker, SQLite in {tmp}) · "
                  f"webhook receiver {hook_url}")

    submitted: list[dict] = []  # {id, tenant, tier, model, note}
    rejected: list[tuple[str, str, int, str]] = []
    ok = True
    async with aiohttp.ClientSession() as http:

        async def submit(key, body, note, headers=None):
            h = {"authorization": f"Bearer {key}", **(headers or {})}
            async with http.post(f"{base}/v1/jobs", json=body, headers=h) as r:
                doc = await r.json()
                tenant = "demo-free" if key == FREE_KEY else "demo-pro"
                if r.status == 202:
                    submitted.append({"id": doc["id"], "tenant": tenant, "tier": tier_of[key], "model": body["model"],
                                      "note": note})
                else:
                    rejected.append((tenant, note, r.status, doc["error"]["code"]))
                return r.status

        # 1 + 2: two tenants on different tiers; Free submits past its tier's request rate
        console.print(f"\n[bold]Step 1-2[/bold] demo-pro ({tier_of[PRO_KEY]}) and demo-free ({tier_of[FREE_KEY]}) submit; "
                      f"demo-free sends {free_tier.rpm + 2} jobs against its {free_tier.rpm} requests/minute")
        for i in range(3):
            await submit(PRO_KEY, {"model": "quality", "prompt": f"Summarise report {i}", "max_tokens": 64},
                         "quality model")
        for i in range(free_tier.rpm + 2):
            await submit(FREE_KEY, {"model": "fast", "prompt": f"Translate line {i}", "max_tokens": 64,
                                    "priority": "batch"}, "free tier burst")
        await submit(PRO_KEY, {"model": "quality", "prompt": "x", "max_tokens": free_tier.max_tokens_cap * 64},
                     "max_tokens over cap")
        await asyncio.sleep(0)

        # 3: the primary fails, the secondary takes over
        sim.set_fault(primary.upstream_model, "503")
        console.print(f"[bold]Step 3[/bold] primary [cyan]{primary.name}[/cyan] now answers 503 (simulator fault); "
                      f"submitting to model `fast`")
        for i in range(4):
            await submit(PRO_KEY, {"model": "fast", "prompt": f"Classify ticket {i}", "max_tokens": 64},
                         "primary down")

        # 4: a webhook
        console.print("[bold]Step 4[/bold] a job with a callback_url on the loopback receiver")
        await submit(PRO_KEY, {"model": "fast", "prompt": "Draft a reply", "max_tokens": 64, "callback_url": hook_url,
                               "metadata": {"ticket": 4711}}, "webhook", {"Idempotency-Key": "demo-webhook-1"})
        await submit(PRO_KEY, {"model": "fast", "prompt": "Draft a reply", "max_tokens": 64, "callback_url": hook_url,
                               "metadata": {"ticket": 4711}}, "webhook (same Idempotency-Key)",
                     {"Idempotency-Key": "demo-webhook-1"})

        # 5: poll
        final: dict[str, dict] = {}
        unique = []
        for s in submitted:
            if all(u["id"] != s["id"] for u in unique):
                unique.append(s)
        replays = [s for s in submitted if "same Idempotency-Key" in s["note"]]
        if replays and replays[0]["id"] == unique[-1]["id"]:
            console.print(f"        the replay with the same Idempotency-Key returned the same job ({replays[0]['id']})")
        elif replays:
            ok = False
        with Progress(TextColumn("[bold]Step 5[/bold] polling jobs"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=False) as progress:
            task = progress.add_task("poll", total=len(unique))
            deadline = asyncio.get_running_loop().time() + 60
            while len(final) < len(unique) and asyncio.get_running_loop().time() < deadline:
                for s in unique:
                    if s["id"] in final:
                        continue
                    key = FREE_KEY if s["tenant"] == "demo-free" else PRO_KEY
                    async with http.get(f"{base}/v1/jobs/{s['id']}", headers={"authorization": f"Bearer {key}"}) as r:
                        doc = await r.json()
                    if doc["status"] in ("COMPLETE", "FAILED"):
                        final[s["id"]] = doc
                progress.update(task, completed=len(final))
                await asyncio.sleep(0.1)
            # and the webhook
            while not received and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
        sim_calls = sim.calls()

    await rt.stop(grace_s=2)
    server.should_exit = True
    await serve_task
    await rx.cleanup()
    stop_sim()

    # ---- the readable part ----
    table = Table(title="Jobs", show_lines=False)
    for col in ("job", "tenant", "model", "scenario", "status", "served by", "attempts", "tokens", "cost", "webhook"):
        table.add_column(col)
    for s in unique:
        d = final.get(s["id"], {"status": "TIMEOUT"})
        if d["status"] != "COMPLETE":
            ok = False
        wh = d.get("webhook") or {}
        table.add_row(s["id"][-6:], s["tenant"], s["model"], s["note"],
                      f"[green]{d['status']}[/green]" if d["status"] == "COMPLETE" else f"[red]{d['status']}[/red]",
                      d.get("served_by") or "-", str(d.get("attempts", "-")),
                      str((d.get("usage") or {}).get("total_tokens", "-")),
                      f"{d['cost']:.6f}" if d.get("cost") is not None else "-",
                      wh.get("state", "-"))
    console.print(table)

    rej = Table(title="Rejected at submit (nothing stored)")
    for col in ("tenant", "scenario", "HTTP", "code"):
        rej.add_column(col)
    for tenant, note, status, code in rejected:
        rej.add_row(tenant, note, str(status), code)
    console.print(rej)
    limited = sum(1 for r in rejected if r[3] == "rate_limited")
    accepted_free = sum(1 for s in unique if s["tenant"] == "demo-free")
    console.print(f"[bold]Tier limit:[/bold] demo-free ({tier_of[FREE_KEY]}, {free_tier.rpm} requests/minute): "
                  f"{accepted_free} accepted, {limited} rejected with 429 rate_limited + Retry-After")
    if limited != 2:
        ok = False

    models = sim_calls.get("models", {})
    p_calls = models.get(primary.upstream_model, {})
    s_calls = models.get(secondary.upstream_model, {})
    failover = [f for f in final.values() if f.get("served_by") == secondary.name]
    p_failed = p_calls.get("total", 0) - p_calls.get("ok", 0)
    console.print(f"\n[bold]Failover:[/bold] the simulator saw {p_calls.get('total', 0)} calls to the primary "
                  f"{primary.name} ({p_calls.get('ok', 0)} ok before the fault, {p_failed} failed with 503) and "
                  f"{s_calls.get('total', 0)} to the secondary {secondary.name}; {len(failover)} jobs were served by "
                  f"the secondary, none failed.")
    if not failover:
        ok = False

    secret = cfg.jobs.webhooks.secrets_for("demo-pro")[0]
    if received:
        headers, body = received[0]
        try:
            payload = Webhook(secret).verify(body, headers)
            console.print(f"[bold]Webhook:[/bold] {len(received)} delivery, webhook-id {headers.get('webhook-id')}, "
                          f"[green]signature verified with standardwebhooks[/green]: {payload['type']} for "
                          f"{payload['data']['id']} (metadata {payload['data'].get('metadata')})")
        except WebhookVerificationError as exc:
            console.print(f"[red]Webhook signature did NOT verify: {exc}[/red]")
            ok = False
        try:
            Webhook(secret).verify(body.replace(b"COMPLETE", b"FAILED"), headers)
            ok = False
        except WebhookVerificationError:
            console.print("          a tampered copy of the same body is rejected, as it should be")
    else:
        console.print("[red]Webhook: nothing received[/red]")
        ok = False
    console.print("[bold green]scenario passed[/bold green]" if ok else "[bold red]scenario FAILED[/bold red]")
    return ok
