"""A stand-in for the YouTube Data API v3 upload endpoints and Google's OAuth 2.0 token endpoint, on
127.0.0.1, following the public documentation:

* `POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status` with the JSON metadata and
  `X-Upload-Content-Length` creates an upload session; its URI comes back in `Location`.
* `PUT <session>` with `Content-Range: bytes a-b/N` stores a chunk and answers `308` with
  `Range: bytes=0-k` (all bytes so far) or, for the last one, `200` with the video resource.
  `PUT <session>` with `Content-Range: bytes */N` (empty body) is the status query.
* `POST /upload/youtube/v3/thumbnails/set?videoId=...` with the image as the body.
* `POST /token` with `grant_type=refresh_token` gives a new access token.

Test controls: `cut_at(byte)` drops the connection once the upload reaches that byte (the bytes before it
are kept, as a real interrupted upload); `quota_exceeded` answers 403 quotaExceeded; `expire_sessions()`
forgets every session (404); tokens in `valid_tokens` are accepted.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from tests.standins.base import Handler, StandinServer


@dataclass
class Session:
    id: str
    size: int
    content_type: str
    metadata: dict[str, Any]
    data: bytearray = field(default_factory=bytearray)
    video_id: str | None = None
    chunk_starts: list[int] = field(default_factory=list)


def api_error(status: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [
                {
                    "message": message,
                    "domain": "youtube.quota" if "quota" in reason.lower() else "global",
                    "reason": reason,
                }
            ],
        }
    }


class YouTubeHandler(Handler):
    def _authorised(self) -> bool:
        yt: YouTubeStandin = self.standin
        header = self.headers.get("Authorization", "")
        if header.removeprefix("Bearer ") in yt.valid_tokens:
            return True
        self.body()
        self.reply(401, api_error(401, "authError", "Invalid Credentials"))
        return False

    def do_POST(self) -> None:
        yt: YouTubeStandin = self.standin
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/token":
            form = dict(parse_qsl(self.body().decode()))
            self.reply(*yt.token_grant(form))
            return
        if not self._authorised():
            return
        if parts.path == "/upload/youtube/v3/videos" and query.get("uploadType") == ["resumable"]:
            body = self.body()
            if yt.quota_exceeded:
                self.reply(
                    403,
                    api_error(
                        403, "quotaExceeded", "The request cannot be completed because you have exceeded your quota."
                    ),
                )
                return
            size = self.headers.get("X-Upload-Content-Length")
            if size is None or not size.isdigit():
                self.reply(400, api_error(400, "invalidValue", "X-Upload-Content-Length is required"))
                return
            metadata = json.loads(body or b"{}")
            if not metadata.get("snippet", {}).get("title"):
                self.reply(
                    400, api_error(400, "invalidTitle", "The request metadata specifies an invalid video title.")
                )
                return
            session = yt.new_session(int(size), self.headers.get("X-Upload-Content-Type", ""), metadata)
            self.reply(
                200,
                None,
                {"Location": f"{yt.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={session.id}"},
            )
            return
        if parts.path == "/upload/youtube/v3/thumbnails/set":
            data = self.body()
            video_id = (query.get("videoId") or [""])[0]
            if video_id not in yt.videos:
                self.reply(
                    404, api_error(404, "videoNotFound", "The video that you are trying to update cannot be found.")
                )
                return
            yt.thumbnails[video_id] = (self.headers.get("Content-Type", ""), data)
            self.reply(
                200,
                {
                    "kind": "youtube#thumbnailSetResponse",
                    "items": [{"default": {"url": f"https://i.ytimg.example/vi/{video_id}/default.jpg"}}],
                },
            )
            return
        self.body()
        self.reply(404, api_error(404, "notFound", "Not Found"))

    def do_PUT(self) -> None:
        yt: YouTubeStandin = self.standin
        if not self._authorised():
            return
        query = parse_qs(urlsplit(self.path).query)
        session = yt.sessions.get((query.get("upload_id") or [""])[0])
        length = int(self.headers.get("Content-Length") or 0)
        if session is None:
            self.rfile.read(length)
            self.reply(404, api_error(404, "notFound", "upload session not found"))
            return
        content_range = self.headers.get("Content-Range", "")
        yt.requests.append(content_range)
        if re.fullmatch(r"bytes \*/\d+", content_range):  # status query
            self.rfile.read(length)
            self._answer(session)
            return
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
        if not match or int(match.group(3)) != session.size or int(match.group(2)) - int(match.group(1)) + 1 != length:
            self.rfile.read(length)
            self.reply(400, api_error(400, "badContentRange", f"bad Content-Range {content_range!r}"))
            return
        start = int(match.group(1))
        if start != len(session.data):  # not where the server is: tell the client where it is
            self.rfile.read(length)
            self._answer(session)
            return
        session.chunk_starts.append(start)
        cut = yt.take_cut(start, start + length)
        if cut is not None:  # the connection dies half-way: keep what arrived, answer nothing
            session.data += self.rfile.read(cut - start)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        session.data += self.rfile.read(length)
        if len(session.data) == session.size and session.video_id is None:
            session.video_id = yt.publish(session)
        self._answer(session)

    def _answer(self, session: Session) -> None:
        if session.video_id is not None:
            self.reply(200, self.standin.videos[session.video_id])
        elif session.data:
            self.reply(308, None, {"Range": f"bytes=0-{len(session.data) - 1}"})
        else:
            self.reply(308, None)


class YouTubeStandin(StandinServer):
    def __init__(self, access_token: str = "ya29.valid") -> None:
        super().__init__(YouTubeHandler)
        self.valid_tokens = {access_token}
        self.sessions: dict[str, Session] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.thumbnails: dict[str, tuple[str, bytes]] = {}
        self.requests: list[str] = []
        self.token_requests: list[dict[str, str]] = []
        self.quota_exceeded = False
        self.refresh_token = "1//refresh"
        self.client = ("client-id.apps.example", "client-secret")
        self._cuts: list[int] = []

    @property
    def upload_url(self) -> str:
        return f"{self.url}/upload/youtube/v3"

    @property
    def api_url(self) -> str:
        return f"{self.url}/youtube/v3"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def cut_at(self, byte: int) -> None:
        self._cuts.append(byte)

    def take_cut(self, start: int, end: int) -> int | None:
        with self.lock:
            for cut in self._cuts:
                if start < cut < end:
                    self._cuts.remove(cut)
                    return cut
        return None

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def new_session(self, size: int, content_type: str, metadata: dict[str, Any]) -> Session:
        session = Session(secrets.token_hex(8), size, content_type, metadata)
        self.sessions[session.id] = session
        return session

    def publish(self, session: Session) -> str:
        video_id = secrets.token_urlsafe(8)[:11]
        self.uploads[video_id] = bytes(session.data)
        self.videos[video_id] = {
            "kind": "youtube#video",
            "id": video_id,
            "snippet": session.metadata.get("snippet", {}),
            "status": {**session.metadata.get("status", {}), "uploadStatus": "uploaded"},
        }
        return video_id

    def token_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        if (form.get("client_id"), form.get("client_secret")) != self.client:
            return 401, {"error": "invalid_client"}
        if form.get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        token = f"ya29.{secrets.token_hex(6)}"
        self.valid_tokens.add(token)
        return 200, {
            "access_token": token,
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/youtube.upload",
        }
