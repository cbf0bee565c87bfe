"""The feed publishes only the email a show's owner chose for it (`owner_email`), never the account's."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import httpx
import podcastparser

from tests.gateway.conftest import create_show, register

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
}


def test_without_owner_email_the_account_email_stays_private(client: httpx.Client) -> None:
    auth = register(client, email="private.person@example.org")
    show = create_show(client, auth, title="Quiet Show")
    r = client.get(f"/shows/{show['slug']}/feed.xml")
    assert r.status_code == 200
    assert "private.person" not in r.text
    channel = ET.fromstring(r.content).find("channel")
    assert channel is not None
    assert channel.find("itunes:owner/itunes:email", NS) is None
    assert channel.findtext("itunes:owner/itunes:name", namespaces=NS) == "Tester"
    locked = channel.find("podcast:locked", NS)
    assert locked is not None and locked.text == "yes" and "owner" not in locked.attrib
    parsed = podcastparser.parse(str(r.url), io.BytesIO(r.content))
    assert parsed["title"] == "Quiet Show"

    r = client.patch(f"/v1/shows/{show['id']}", json={"owner_email": "feeds@example.org"}, headers=auth["headers"])
    assert r.status_code == 200, r.text
    channel = ET.fromstring(client.get(f"/shows/{show['slug']}/feed.xml").content).find("channel")
    assert channel is not None
    assert channel.findtext("itunes:owner/itunes:email", namespaces=NS) == "feeds@example.org"
    locked = channel.find("podcast:locked", NS)
    assert locked is not None and locked.attrib["owner"] == "feeds@example.org"
