"""A whole chat through the real nginx (ops/nginx.conf) in front of two app instances."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from websockets.asyncio.client import connect
from websockets.typing import Origin

from chat_server.config import REPO_DIR
from tests.support.nginx import client_ssl_context, start_nginx
from tests.support.servers import (
    TEST_PASSWORD,
    Client,
    free_port,
    make_settings,
    running_server,
)

MARKER_IP = "198.51.100.23"


async def test_a_chat_through_nginx_in_front_of_two_instances(
    redis_url: str, staff_file: Path, tmp_path: Path
) -> None:
    """Visitor and counsellor talk over TLS via nginx; nginx logs no address."""
    ports = (free_port(), free_port())
    nginx = start_nginx(tmp_path / "nginx", upstream_ports=ports, widget_dir=REPO_DIR / "widget")
    public = nginx.https_url
    ssl = client_ssl_context()
    try:
        settings = [
            make_settings(redis_url, staff_file, port).with_overrides(
                public_url=public, allowed_origins=(public,)
            )
            for port in ports
        ]
        async with running_server(settings[0]), running_server(settings[1]):
            wss = public.replace("https://", "wss://")
            visitor = Client(
                await connect(
                    f"{wss}/ws/visitor",
                    origin=Origin(public),
                    ssl=ssl,
                    additional_headers={"X-Forwarded-For": MARKER_IP},
                )
            )
            await visitor.send(type="start")
            await visitor.expect("welcome")

            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"{public}/console/login",
                    data={"username": "anna", "password": TEST_PASSWORD},
                    headers={"Origin": public},
                    allow_redirects=False,
                    ssl=ssl,
                ) as response:
                    assert response.status == 303
                    session_id = response.cookies["__Host-nexus_session"].value
            console = Client(
                await connect(
                    f"{wss}/ws/console",
                    origin=Origin(public),
                    ssl=ssl,
                    additional_headers={"Cookie": f"__Host-nexus_session={session_id}"},
                )
            )
            await console.send(type="hello")
            await console.expect("hello")
            await console.send(type="take")
            chat_id = (await console.expect("chat_opened"))["chat_id"]
            await visitor.send(type="message", text="via nginx", client_id="n")
            assert (await console.expect("message", sender="visitor"))["text"] == "via nginx"
            await console.send(type="message", chat_id=chat_id, text="svar via nginx")
            assert (await visitor.expect("message", sender="counsellor"))[
                "text"
            ] == "svar via nginx"
            await console.send(type="end", chat_id=chat_id)
            await visitor.expect("ended")
            await console.close()
    finally:
        nginx.stop()
    access = nginx.paths.access_log.read_text()
    assert "/ws/visitor" in access
    for marker in (MARKER_IP, "127.0.0.1"):
        assert marker not in access
        assert marker not in nginx.paths.error_log.read_text()
