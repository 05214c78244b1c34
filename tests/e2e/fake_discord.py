"""A loopback fake Discord for end-to-end tests of the real, unmodified discord.py client.

Design
------
``FakeDiscord`` runs one aiohttp server on ``127.0.0.1:<ephemeral port>`` with three parts:

* ``/api/v10/...``  REST: a small regex route table (``_ROUTES``); every call is recorded as a
  :class:`Request` (method, path, query, json body, uploaded files). Unknown routes are logged,
  recorded in ``fake.unknown_requests`` and answered ``404`` JSON so tests notice.
* ``/gateway``      websocket: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeat ACKs, RESUME,
  member chunk requests; ``fake.dispatch(event, data)`` pushes any DISPATCH event.
* ``/cdn/...``      serves attachment bytes (attachments the tests hand to users, and files the bot
  uploads), because discord.py downloads ``Attachment.url`` itself.

The client is redirected by mutating two class attributes (restored on exit):
``discord.http.Route.BASE`` (interaction callbacks and webhook follow-ups read the same class, so a
subclass would miss them) and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``. Only one
FakeDiscord can be active at a time for that reason.

The fake holds one guild (``fake.guild_id``) with roles (@everyone, Admin, Member, the bot's role),
members (``fake.bot_user``, ``fake.admin`` who owns the guild and has administrator + manage_guild,
``fake.alice``, ``fake.bob``) and text channels (``fake.general``, ``fake.study``). Users, members,
roles and channels are plain Discord payload dicts; every method taking a user/channel/message also
accepts an id or any object with ``.id``.

Protocol details that bite (discord.py 2.7.1)
--------------------------------------------
* discord.py parses a body as JSON only if Content-Type is exactly ``application/json`` (aiohttp's
  ``json_response`` appends ``; charset=utf-8``); see :func:`_json`.
* ``login()`` calls ``GET /users/@me`` and ``GET /oauth2/applications/@me`` (AppInfo needs id, name,
  description, icon, bot_public, bot_require_code_grant, owner, verify_key).
* READY must carry ``application{id,flags}``, ``session_id``, ``resume_gateway_url`` and, for
  ``AutoShardedClient`` (which first calls ``GET /gateway/bot``), ``shard`` or it hangs silently.
  ``is_ready()`` only flips ``guild_ready_timeout`` seconds after the last GUILD_CREATE, so
  :meth:`FakeDiscord.connect` lowers it to 0.05 s. ``member_count == len(members)`` avoids chunking.
* INTERACTION_CREATE needs ``attachment_size_limit``, ``version``, ``token``, ``application_id`` and
  ``member.flags``/``member.roles`` (KeyError otherwise); the command tree looks commands up by
  ``data.name`` and ``data.guild_id`` (guild commands only match when ``guild_id`` is present).
* discord.py >= 2.5 sends callbacks with ``?with_response=1`` and reads
  ``{"interaction": {..., "response_message_id"}, "resource": {"type", "message"}}``; the view of a
  response is filed under that message id, and a component click must carry that message
  (``message`` in the payload) or the click is dropped silently.
* A second callback for one interaction is answered 400 / code 40060 like Discord ("already
  acknowledged"). After a deferred (type 5) response, the first follow-up *edits the loading
  message* instead of creating a new one, so it inherits the defer's ephemerality (as on Discord): after a
  public defer it stays public even when it asks for ``ephemeral``. Once the loading message is deleted
  (``DELETE .../messages/@original``), a follow-up is a new message and its own flags count.
* Without the MESSAGE_CONTENT intent, guild MESSAGE_CREATE events reach the bot with empty content
  unless the bot is mentioned (as on Discord); messages are not delivered without GUILD_MESSAGES /
  DIRECT_MESSAGES. Bot messages are echoed back as MESSAGE_CREATE/UPDATE/DELETE like Discord does.
* discord.py sends ``multipart/form-data`` when files are attached: a ``payload_json`` part plus
  ``files[n]`` parts referenced by ``attachments[{id: n}]``.
* pyproject sets ``asyncio_default_fixture_loop_scope = "session"``: an async fixture holding a
  FakeDiscord must use the test's loop (``@pytest_asyncio.fixture(loop_scope="function")``); a
  mismatch is reported as a RuntimeError instead of a silent hang.

API at a glance
---------------
``connect(client)`` / ``close_client()``; ``send_message(channel, author, content, ...)`` -> message dict;
``slash(user, "group sub", {opt: value}, channel=)`` / ``click(user, message, custom_id)`` /
``select(user, message, custom_id, values)`` / ``submit_modal(user, {input_id: text})`` -> interaction id;
``autocomplete(user, command, focused, value)`` -> choices; ``wait_for_interaction_reply(iid)`` -> Reply;
``interaction_responses(iid)`` -> [InteractionEvent]; ``wait_for_modal(iid)``; ``messages_in(channel)``;
``wait_for_message(channel, pred)``; ``allowed_mentions(message)``; ``requests`` / ``wait_for_request(pred)``;
``unknown_requests``; ``client_errors``; ``dispatch(event, data)`` for any other gateway event.
"""
from __future__ import annotations

import asyncio
import copy
import datetime as _dt
import itertools
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import WSMsgType, web

log = logging.getLogger("fake_discord")

DISCORD_EPOCH = 1420070400000
EPHEMERAL, LOADING = 1 << 6, 1 << 7
INTENT_GUILD_MESSAGES, INTENT_DM_MESSAGES, INTENT_MESSAGE_CONTENT = 1 << 9, 1 << 12, 1 << 15
ALL_PERMS = discord.Permissions.all().value
EVERYONE_PERMS = (discord.Permissions.text() | discord.Permissions(view_channel=True)).value
ADMIN_PERMS = discord.Permissions(administrator=True, manage_guild=True).value
JOINED_AT = "2024-01-01T00:00:00+00:00"
NONCE_WINDOW_SECONDS = 300


def _json(obj: Any, status: int = 200) -> web.Response:
    """JSON response with Content-Type exactly ``application/json`` (no charset suffix)."""
    return web.Response(status=status, body=json.dumps(obj).encode(), headers={"Content-Type": "application/json"})


def _error(status: int, message: str, code: int = 0) -> web.Response:
    return _json({"message": message, "code": code}, status)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def _id(obj: Any) -> int:
    """Id of a payload dict, an int/str id, or any object with ``.id``."""
    if isinstance(obj, dict):
        return int(obj["id"])
    if isinstance(obj, (int, str)):
        return int(obj)
    return int(obj.id)


@dataclass
class UploadedFile:
    field: str  # e.g. "files[0]"
    filename: Optional[str]
    content_type: Optional[str]
    data: bytes


@dataclass
class Request:
    """One REST call made by the client. ``path`` is relative to /api/v10, e.g. ``/channels/1/messages``."""

    method: str
    path: str
    query: Dict[str, str]
    json: Any
    files: List[UploadedFile]
    status: int = 0


@dataclass
class InteractionEvent:
    """A response to an interaction: kind is 'callback', 'followup', 'edit' or 'delete'."""

    kind: str
    type: Optional[int]  # callback type (4, 5, 6, 7, 8, 9) for kind == 'callback'
    message_id: Optional[int]
    body: Dict[str, Any]
    files: List[UploadedFile]


@dataclass
class Reply:
    """The visible result of an interaction (see :meth:`FakeDiscord.wait_for_interaction_reply`)."""

    content: str
    embeds: List[Dict[str, Any]]
    components: List[Dict[str, Any]]
    flags: int
    message_id: int
    message: Dict[str, Any]  # the stored message payload, current state
    allowed_mentions: Optional[Dict[str, Any]]
    events: List[InteractionEvent]

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    payload: Dict[str, Any]
    channel_id: int
    message_id: Optional[int]  # message a component/modal interaction came from
    callback_type: Optional[int] = None
    original_id: Optional[int] = None
    choices: Optional[List[Dict[str, Any]]] = None
    modal: Optional[Dict[str, Any]] = None
    events: List[InteractionEvent] = field(default_factory=list)


@dataclass
class _Conn:
    ws: web.WebSocketResponse
    intents: int = 0
    shard: Optional[List[int]] = None
    seq: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _ErrorLog(logging.Handler):
    def __init__(self, sink: List[str]):
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record))


class FakeDiscord:
    """Loopback Discord: ``async with FakeDiscord() as fake: await fake.connect(bot)``."""

    _active: Optional["FakeDiscord"] = None

    def __init__(self, *, guild_name: str = "Study Group", bot_name: str = "studybot",
                 guild_ready_timeout: float = 0.05):
        self._ids = itertools.count()
        self._last_id = 0
        self.guild_ready_timeout = guild_ready_timeout
        self.users: Dict[int, Dict[str, Any]] = {}
        self.members: Dict[int, Dict[str, Any]] = {}  # user id -> member payload (with "user")
        self.roles: Dict[int, Dict[str, Any]] = {}
        self.channels: Dict[int, Dict[str, Any]] = {}
        self.messages: Dict[int, Dict[str, Any]] = {}  # every message, current state, in creation order
        self.deleted: set = set()
        self.cdn: Dict[int, Tuple[bytes, str]] = {}
        self.commands: Dict[Tuple[Optional[int], str, int], Dict[str, Any]] = {}  # (guild_id, name, type)
        self.interactions: Dict[int, _Interaction] = {}
        self.requests: List[Request] = []
        self.unknown_requests: List[Request] = []
        self.client_errors: List[str] = []  # ERROR records logged by discord.py while connected
        self._allowed_mentions: Dict[int, Optional[Dict[str, Any]]] = {}
        self._tokens: Dict[str, int] = {}
        self._dms: Dict[int, Dict[str, Any]] = {}
        self._conns: List[_Conn] = []
        self._changed = asyncio.Event()
        self._client: Any = None
        self._client_task: Optional[asyncio.Task] = None
        self._log_handler = _ErrorLog(self.client_errors)
        self.base_url = ""
        self.other_guilds: Dict[int, Dict[str, Any]] = {}  # more guilds (add_guild): same members and roles
        self.nonce_hits = 0  # messages not created again because their enforced nonce was already used
        # The guild and its default population.
        self.guild_id = self._snowflake()
        self.guild_name = guild_name
        self.bot_user = self.add_user(bot_name, bot=True)
        self.app_id = _id(self.bot_user)
        self.everyone_role = self.add_role("@everyone", EVERYONE_PERMS, id=self.guild_id, position=0)
        self.admin_role = self.add_role("Admin", ADMIN_PERMS)
        self.member_role = self.add_role("Member", 0)
        self.bot_role = self.add_role(bot_name, EVERYONE_PERMS, managed=True)
        self.add_member(self.bot_user, roles=[self.bot_role])
        self.admin = self.add_member("admin", roles=[self.admin_role, self.member_role])
        self.owner_id = _id(self.admin)
        self.alice = self.add_member("alice", roles=[self.member_role])
        self.bob = self.add_member("bob", roles=[self.member_role])
        self.general = self.add_channel("general")
        self.study = self.add_channel("study")

    # ------------------------------------------------------------------ world building
    def _snowflake(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH
        self._last_id = max(self._last_id + 1, (ms << 22) | (next(self._ids) & 0x3FFFFF))
        return self._last_id

    def add_user(self, name: str, *, bot: bool = False, global_name: Optional[str] = None) -> Dict[str, Any]:
        """A user who is not (yet) a guild member. Returns the user payload."""
        uid = self._snowflake()
        user = {"id": str(uid), "username": name, "discriminator": "0", "global_name": global_name or name,
                "avatar": None, "bot": bot, "public_flags": 0}
        self.users[uid] = user
        return user

    def add_member(self, user: Union[str, Any], *, roles: Sequence[Any] = (), nick: Optional[str] = None,
                   admin: bool = False, bot: bool = False) -> Dict[str, Any]:
        """Make a guild member (creating the user when given a name). Returns the *user* payload.

        ``admin=True`` adds the Admin role (administrator + manage_guild). Call before ``connect`` or
        dispatch GUILD_MEMBER_ADD yourself; interactions carry member data either way.
        """
        u = self.add_user(user, bot=bot) if isinstance(user, str) else self.users[_id(user)]
        role_ids = [str(_id(r)) for r in roles] + ([str(_id(self.admin_role))] if admin else [])
        self.members[_id(u)] = {"user": u, "roles": role_ids, "nick": nick, "joined_at": JOINED_AT, "deaf": False,
                                "mute": False, "flags": 0, "pending": False, "premium_since": None, "avatar": None,
                                "communication_disabled_until": None}
        return u

    def add_role(self, name: str, permissions: int = 0, *, id: Optional[int] = None, position: Optional[int] = None,
                 managed: bool = False) -> Dict[str, Any]:
        rid = id or self._snowflake()
        role = {"id": str(rid), "name": name, "permissions": str(permissions),
                "position": len(self.roles) if position is None else position, "color": 0,
                "colors": {"primary_color": 0}, "hoist": False, "managed": managed, "mentionable": True, "flags": 0}
        self.roles[rid] = role
        return role

    def add_guild(self, name: str) -> Dict[str, Any]:
        """Another guild the bot is in, with the same members and roles as the first (its own @everyone and
        channels). Call before ``connect``. Returns ``{"id", "name", "general"}``; add channels with
        ``add_channel(name, guild=...)``."""
        gid = self._snowflake()
        everyone = {**self.everyone_role, "id": str(gid)}
        guild = {"id": str(gid), "name": name, "everyone": everyone}
        self.other_guilds[gid] = guild
        guild["general"] = self.add_channel("general", guild=guild)
        return guild

    def add_channel(self, name: str, *, type: int = 0, topic: Optional[str] = None,
                    guild: Any = None) -> Dict[str, Any]:
        """Add a guild text channel (type 0). After ``connect`` also ``await fake.dispatch("CHANNEL_CREATE", ch)``."""
        cid = self._snowflake()
        gid = _id(guild) if guild is not None else self.guild_id
        ch = {"id": str(cid), "type": type, "guild_id": str(gid), "name": name,
              "position": len(self.channels), "parent_id": None, "topic": topic, "nsfw": False,
              "permission_overwrites": [], "rate_limit_per_user": 0,
              "last_message_id": None, "flags": 0}
        self.channels[cid] = ch
        return ch

    def dm_channel(self, user: Any) -> Dict[str, Any]:
        """The DM channel between ``user`` and the bot (created on first use)."""
        uid = _id(user)
        if uid not in self._dms:
            cid = self._snowflake()
            self._dms[uid] = self.channels[cid] = {"id": str(cid), "type": 1, "recipients": [self.users[uid]],
                                                   "last_message_id": None, "flags": 0}
        return self._dms[uid]

    def user(self, name: str) -> Dict[str, Any]:
        return next(u for u in self.users.values() if u["username"] == name)

    def channel(self, name: str) -> Dict[str, Any]:
        return next(c for c in self.channels.values() if c.get("name") == name)

    def role(self, name: str) -> Dict[str, Any]:
        return next(r for r in self.roles.values() if r["name"] == name)

    def permissions_of(self, user: Any) -> int:
        """Guild-level permission bits of a member (administrator -> all)."""
        member = self.members.get(_id(user))
        if member is None:
            return 0
        perms = int(self.everyone_role["permissions"])
        for rid in member["roles"]:
            perms |= int(self.roles[int(rid)]["permissions"])
        is_admin = perms & discord.Permissions(administrator=True).value or _id(user) == self.owner_id
        return ALL_PERMS if is_admin else perms

    def _member_payload(self, user: Any, *, with_user: bool = True,
                        permissions: bool = False) -> Optional[Dict[str, Any]]:
        m = self.members.get(_id(user))
        if m is None:
            return None
        out = copy.deepcopy(m) if with_user else {k: copy.deepcopy(v) for k, v in m.items() if k != "user"}
        if permissions:
            out["permissions"] = str(self.permissions_of(user))
        return out

    def guild_payload(self, guild_id: Optional[int] = None) -> Dict[str, Any]:
        """The GUILD_CREATE payload built from the current state (of the first guild by default)."""
        gid = guild_id or self.guild_id
        roles = list(self.roles.values())
        if gid != self.guild_id:
            roles = [self.other_guilds[gid]["everyone"]] + [r for r in roles if int(r["id"]) != self.guild_id]
        return {"id": str(gid), "name": self.other_guilds[gid]["name"] if gid != self.guild_id else self.guild_name,
                "owner_id": str(self.owner_id), "icon": None,
                "features": [], "roles": roles, "emojis": [], "stickers": [],
                "channels": [c for c in self.channels.values() if c["type"] != 1 and int(c["guild_id"]) == gid],
                "members": [self._member_payload(uid) for uid in self.members],
                "member_count": len(self.members), "large": False, "unavailable": False, "joined_at": JOINED_AT,
                "threads": [], "presences": [], "voice_states": [], "stage_instances": [], "guild_scheduled_events": [],
                "preferred_locale": "en-US", "verification_level": 0, "default_message_notifications": 0,
                "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0, "premium_tier": 0,
                "system_channel_id": self.general["id"] if hasattr(self, "general") else None}

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> "FakeDiscord":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    async def start(self) -> None:
        if FakeDiscord._active is not None:
            raise RuntimeError("another FakeDiscord is active; Route.BASE is process-global")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/attachments/{channel}/{att}/{filename}", self._cdn)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"
        self._saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = f"{self.base_url}/api/v10"
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        FakeDiscord._active = self
        self._loop = asyncio.get_running_loop()

    def _check_live(self, need_session: bool = False) -> None:
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("FakeDiscord is used from another event loop than the one it was started in: "
                               "give the async fixture and the test the same loop scope, e.g. "
                               "@pytest_asyncio.fixture(loop_scope='function') (pyproject sets "
                               "asyncio_default_fixture_loop_scope = 'session')")
        if need_session and not self._conns:
            raise RuntimeError("no gateway session is connected: call `await fake.connect(client)` first")

    async def stop(self) -> None:
        """Close the client (re-raising an exception its task died with), the server, and restore the routes."""
        try:
            await self.close_client()
        finally:
            try:
                for conn in list(self._conns):
                    await conn.ws.close()
                await self._runner.cleanup()
            finally:
                discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved
                FakeDiscord._active = None

    async def connect(self, client: discord.Client, token: str = "x", timeout: float = 10) -> discord.Client:
        """Run ``client.start(token)`` as a task and return once ``client.is_ready()``."""
        state = getattr(client, "_connection", None)
        if state is not None:
            state.guild_ready_timeout = min(state.guild_ready_timeout, self.guild_ready_timeout)
        logging.getLogger("discord").addHandler(self._log_handler)
        self._client = client
        self._client_task = asyncio.create_task(client.start(token), name="fake-discord-client")
        deadline = asyncio.get_running_loop().time() + timeout
        while not client.is_ready():
            if self._client_task.done():
                self._client_task.result()  # re-raise the startup error
                raise RuntimeError("client.start() returned before the client became ready")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"client not ready after {timeout}s; {self._debug()}")
            await asyncio.sleep(0.01)
        return client

    async def close_client(self) -> None:
        """Close the client started by :meth:`connect` and wait for its task."""
        client, task, self._client, self._client_task = self._client, self._client_task, None, None
        if client is None:
            return
        if not client.is_closed():
            await client.close()
        if task is not None:
            try:
                await asyncio.wait_for(task, 5)
            except asyncio.TimeoutError:
                task.cancel()
        logging.getLogger("discord").removeHandler(self._log_handler)

    # ------------------------------------------------------------------ waiting
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _debug(self) -> str:
        last = ", ".join(f"{r.method} {r.path}" for r in self.requests[-8:])
        out = f"last requests: [{last}]"
        if self.unknown_requests:
            out += f"; UNKNOWN ROUTES: {[(r.method, r.path) for r in self.unknown_requests]}"
        task = self._client_task
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            out += f"; CLIENT TASK DIED: {task.exception()!r}"
        if self.client_errors:
            out += "; client errors:\n" + "\n".join(self.client_errors[-3:])
        return out

    async def _wait(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        self._check_live()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}; {self._debug()}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def wait_for_request(self, predicate: Callable[[Request], bool], timeout: float = 10,
                               since: int = 0) -> Request:
        """First recorded request (from index ``since``, e.g. ``len(fake.requests)``) matching ``predicate``."""
        return await self._wait(lambda: next((r for r in self.requests[since:] if predicate(r)), None),
                                timeout, "request")

    def messages_in(self, channel: Any, *, include_users: bool = False,
                    include_deleted: bool = False) -> List[Dict[str, Any]]:
        """Messages in a channel (current state, oldest first); by default only those the bot sent."""
        cid = str(_id(channel))
        return [m for mid, m in self.messages.items()
                if m["channel_id"] == cid and (include_deleted or mid not in self.deleted)
                and (include_users or m["author"]["id"] == self.bot_user["id"])]

    async def wait_for_message(self, channel: Any, predicate: Optional[Callable[[Dict[str, Any]], bool]] = None, *,
                               timeout: float = 10, after: Any = None, include_users: bool = False) -> Dict[str, Any]:
        """First bot message in ``channel`` (newer than message ``after``, if given) matching ``predicate``."""
        floor = _id(after) if after is not None else 0
        return await self._wait(lambda: next((m for m in self.messages_in(channel, include_users=include_users)
                                              if int(m["id"]) > floor and (predicate is None or predicate(m))), None),
                                timeout, f"a message in channel {_id(channel)}")

    def allowed_mentions(self, message: Any) -> Optional[Dict[str, Any]]:
        """The ``allowed_mentions`` the client sent with the last create/edit of this message."""
        return self._allowed_mentions.get(_id(message))

    def interaction_responses(self, interaction_id: int) -> List[InteractionEvent]:
        """Callback, follow-ups, edits and deletes for an interaction, in the order they arrived."""
        return list(self.interactions[interaction_id].events)

    def _reply(self, iid: int) -> Optional[Reply]:
        events = self.interactions[iid].events
        visible = [e for e in events
                   if e.message_id is not None and (e.kind in ("followup", "edit") or e.type in (4, 7))]
        if not visible:
            return None
        e = visible[-1]
        m = self.messages[e.message_id]
        return Reply(m["content"], m["embeds"], m["components"], m["flags"], e.message_id, m,
                     self._allowed_mentions.get(e.message_id), list(events))

    async def wait_for_interaction_reply(self, interaction_id: int, timeout: float = 10, settle: float = 0.1) -> Reply:
        """Wait for a visible reply (message callback, follow-up or edit), then until no further response
        arrives for ``settle`` seconds; returns the state of the last message touched."""
        await self._wait(lambda: self._reply(interaction_id), timeout, f"a reply to interaction {interaction_id}")
        while True:
            n = len(self.interactions[interaction_id].events)
            await asyncio.sleep(settle)
            if len(self.interactions[interaction_id].events) == n:
                return self._reply(interaction_id)  # type: ignore[return-value]

    async def wait_for_modal(self, interaction_id: int, timeout: float = 10) -> Dict[str, Any]:
        """The modal (callback type 9 ``data``: custom_id, title, components) opened in response."""
        return await self._wait(lambda: self.interactions[interaction_id].modal, timeout, "a modal")

    # ------------------------------------------------------------------ gateway
    async def _send(self, conn: _Conn, op: int, d: Any, t: Optional[str] = None) -> None:
        async with conn.lock:
            seq = None
            if op == 0:
                conn.seq += 1
                seq = conn.seq
            await conn.ws.send_str(json.dumps({"op": op, "d": d, "s": seq, "t": t}))

    def _owns_guild(self, conn: _Conn, guild_id: Optional[int] = None) -> bool:
        gid = guild_id or self.guild_id
        return conn.shard is None or (gid >> 22) % conn.shard[1] == conn.shard[0]

    async def dispatch(self, event: str, data: Dict[str, Any], *, intent: int = 0, guild: bool = True,
                       shard: Optional[int] = None) -> None:
        """Send a DISPATCH (op 0) event to connected sessions (those owning the guild, or shard 0 for DMs).

        ``shard`` sends it to that shard's session instead, whoever owns the guild: what happens to a guild's
        events while shards are handed over between processes (a reshard, a rolling restart)."""
        self._check_live()
        gid = int(data["guild_id"]) if isinstance(data, dict) and data.get("guild_id") else None
        for conn in list(self._conns):
            if intent and not conn.intents & intent:
                continue
            if shard is not None:
                if not conn.shard or conn.shard[0] != shard:
                    continue
            elif (guild and not self._owns_guild(conn, gid)) or (not guild and conn.shard and conn.shard[0] != 0):
                continue
            await self._send(conn, 0, data, event)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Conn(ws)
        await self._send(conn, 10, {"heartbeat_interval": 41250})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op, d = payload.get("op"), payload.get("d")
                if op == 1:
                    await self._send(conn, 11, None)
                elif op == 2:
                    await self._identify(conn, d)
                elif op == 6:
                    self._conns.append(conn)
                    await self._send(conn, 0, {}, "RESUMED")
                elif op == 8:
                    members = [self._member_payload(uid) for uid in self.members]
                    await self._send(conn, 0, {"guild_id": str(self.guild_id), "members": members, "chunk_index": 0,
                                               "chunk_count": 1, "nonce": d.get("nonce")}, "GUILD_MEMBERS_CHUNK")
        finally:
            if conn in self._conns:
                self._conns.remove(conn)
        return ws

    async def _identify(self, conn: _Conn, d: Dict[str, Any]) -> None:
        conn.intents, conn.shard = d.get("intents", 0), d.get("shard")
        ready = {"v": 10, "user": self.bot_user, "guilds": [], "session_id": f"fake-session-{self._snowflake()}",
                 "resume_gateway_url": self.gateway_url, "application": {"id": str(self.app_id), "flags": 0},
                 "private_channels": [], "relationships": [], "presences": [], "_trace": ["fake-discord"]}
        if conn.shard is not None:
            ready["shard"] = conn.shard
        owned = [g for g in (self.guild_id, *self.other_guilds) if self._owns_guild(conn, g)]
        ready["guilds"] = [{"id": str(g), "unavailable": True} for g in owned]
        self._conns.append(conn)
        await self._send(conn, 0, ready, "READY")
        for g in owned:
            await self._send(conn, 0, self.guild_payload(g), "GUILD_CREATE")

    # ------------------------------------------------------------------ messages
    def _attachment(self, channel_id: int, filename: str, data: bytes,
                    content_type: Optional[str] = None) -> Dict[str, Any]:
        aid = self._snowflake()
        ctype = content_type or "application/octet-stream"
        self.cdn[aid] = (data, ctype)
        url = f"{self.base_url}/cdn/attachments/{channel_id}/{aid}/{filename}"
        return {"id": str(aid), "filename": filename, "size": len(data), "url": url, "proxy_url": url,
                "content_type": ctype}

    def make_attachment(self, spec: Any, channel: Any = 0) -> Dict[str, Any]:
        """Attachment payload served by the fake CDN from ``bytes``, ``(filename, bytes[, content_type])`` or a
        dict ``{filename, data, content_type}``."""
        if isinstance(spec, (bytes, bytearray)):
            spec = ("file.bin", bytes(spec))
        if isinstance(spec, dict):
            spec = (spec["filename"], spec["data"], spec.get("content_type"))
        return self._attachment(_id(channel), spec[0], spec[1], spec[2] if len(spec) > 2 else None)

    async def _cdn(self, request: web.Request) -> web.Response:
        item = self.cdn.get(int(request.match_info["att"]))
        if item is None:
            return web.Response(status=404)
        return web.Response(body=item[0], headers={"Content-Type": item[1]})

    def _mentions(self, msg: Dict[str, Any], am: Optional[Dict[str, Any]]) -> None:
        """Fill mentions/mention_roles/mention_everyone from <@id>, <@&id>, @everyone filtered by allowed_mentions."""
        content = msg.get("content") or ""
        parse = {"users", "roles", "everyone"} if am is None else set(am.get("parse") or [])
        users = {str(u) for u in (am or {}).get("users", [])}
        roles = {str(r) for r in (am or {}).get("roles", [])}
        uids = [u for u in dict.fromkeys(re.findall(r"<@!?(\d+)>", content))
                if ("users" in parse or u in users) and int(u) in self.users]
        rids = [r for r in dict.fromkeys(re.findall(r"<@&(\d+)>", content)) if "roles" in parse or r in roles]
        msg["mentions"] = [self._mention(u, "guild_id" in msg) for u in uids]
        ref = self.messages.get(int((msg.get("message_reference") or {}).get("message_id") or 0))
        if ref is not None and (am is None or am.get("replied_user")) and ref["author"]["id"] not in uids:
            msg["mentions"].append(ref["author"])  # replies ping the replied-to author unless replied_user=False
        msg["mention_roles"] = rids
        msg["mention_everyone"] = "everyone" in parse and ("@everyone" in content or "@here" in content)

    def _mention(self, user: Any, in_guild: bool) -> Dict[str, Any]:
        """A ``mentions`` entry: the user payload plus, in a guild, its ``member`` (without ``user``)."""
        entry = dict(self.users[_id(user)])
        if in_guild and _id(user) in self.members:
            entry["member"] = self._member_payload(user, with_user=False)
        return entry

    def _attachments_from(self, channel_id: int, body: Dict[str, Any], files: List[UploadedFile],
                          old: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Attachments of a create/edit body: new ``files[n]`` uploads plus kept existing ones (by id)."""
        by_field = {f.field: f for f in files}
        listed = body.get("attachments")
        if listed is None:
            listed = [{"id": i} for i in range(len(files))] if files else [{"id": a["id"]} for a in old]
        out = []
        for a in listed:
            f = by_field.get(f"files[{a['id']}]")
            if f is not None:
                name = a.get("filename") or f.filename or "file"
                out.append(self._attachment(channel_id, name, f.data, f.content_type))
            else:
                out.extend(o for o in old if o["id"] == str(a["id"]))
        return out

    def _store(self, msg: Dict[str, Any], am: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        mid = int(msg["id"])
        self.messages[mid] = msg
        self._allowed_mentions[mid] = am
        if int(msg["channel_id"]) in self.channels:
            self.channels[int(msg["channel_id"])]["last_message_id"] = msg["id"]
        self._notify()
        return msg

    def _new_bot_message(self, channel_id: int, body: Dict[str, Any], files: List[UploadedFile], *,
                         mtype: int = 0, webhook: bool = False) -> Dict[str, Any]:
        ch = self.channels.get(channel_id, {})
        msg: Dict[str, Any] = {
            "id": str(self._snowflake()), "type": mtype, "channel_id": str(channel_id), "author": self.bot_user,
            "content": body.get("content") or "", "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": self._attachments_from(channel_id, body, files, []),
            "pinned": False, "tts": bool(body.get("tts")), "timestamp": _now(), "edited_timestamp": None,
            "flags": body.get("flags") or 0}
        if ch.get("type", 0) != 1:
            msg["guild_id"] = ch["guild_id"]
            if not webhook:
                msg["member"] = self._member_payload(self.bot_user, with_user=False)
        if webhook:
            msg["webhook_id"] = msg["application_id"] = str(self.app_id)
        if body.get("nonce") is not None:
            msg["nonce"] = body["nonce"]
        ref = body.get("message_reference")
        if ref:  # Discord echoes snowflakes as strings
            ref = {k: str(v) if k.endswith("_id") and v is not None else v for k, v in ref.items()}
            msg["type"], msg["message_reference"] = 19, ref
            target = self.messages.get(int(ref["message_id"]))
            if target is not None:
                msg["referenced_message"] = {k: v for k, v in target.items() if k != "referenced_message"}
        self._mentions(msg, body.get("allowed_mentions"))
        return self._store(msg, body.get("allowed_mentions"))

    def _edit_message(self, msg: Dict[str, Any], body: Dict[str, Any], files: List[UploadedFile]) -> Dict[str, Any]:
        for key in ("content", "embeds", "components"):
            if key in body:
                msg[key] = body[key] if body[key] is not None else ("" if key == "content" else [])
        if "flags" in body and body["flags"] is not None:
            msg["flags"] = (body["flags"] & ~EPHEMERAL) | (msg["flags"] & EPHEMERAL)
        msg["flags"] &= ~LOADING
        if "attachments" in body or files:
            msg["attachments"] = self._attachments_from(int(msg["channel_id"]), body, files, msg["attachments"])
        msg["edited_timestamp"] = _now()
        am = body.get("allowed_mentions", self._allowed_mentions.get(int(msg["id"])))
        self._mentions(msg, am)
        return self._store(msg, am)

    async def _echo(self, event: str, msg: Dict[str, Any]) -> None:
        """Gateway echo of the bot's own message activity (not for ephemeral messages)."""
        if msg["flags"] & EPHEMERAL:
            return
        in_guild = "guild_id" in msg
        intent = INTENT_GUILD_MESSAGES if in_guild else INTENT_DM_MESSAGES
        data = msg if event != "MESSAGE_DELETE" else {k: msg[k] for k in ("id", "channel_id", "guild_id") if k in msg}
        await self.dispatch(event, data, intent=intent, guild=in_guild)

    async def send_message(self, channel: Any, author: Any, content: str = "", *,
                           mentions: Optional[Sequence[Any]] = None, mention_roles: Optional[Sequence[Any]] = None,
                           mention_everyone: Optional[bool] = None, attachments: Sequence[Any] = (),
                           reference: Any = None, embeds: Sequence[Dict[str, Any]] = ()) -> Dict[str, Any]:
        """A user posts a message: dispatch MESSAGE_CREATE and return the stored payload.

        Mentions default to what ``content`` contains (``<@id>``, ``<@&id>``, ``@everyone``/``@here``);
        attachments are ``bytes``/``(filename, bytes[, content_type])``/dicts served by the fake CDN.
        """
        self._check_live(need_session=True)
        cid = _id(channel)
        ch = self.channels[cid]
        author_u = self.users[_id(author)]
        msg: Dict[str, Any] = {"id": str(self._snowflake()), "type": 0, "channel_id": str(cid), "author": author_u,
                               "content": content, "embeds": list(embeds), "components": [], "pinned": False,
                               "tts": False, "timestamp": _now(), "edited_timestamp": None, "flags": 0,
                               "attachments": [self.make_attachment(a, cid) for a in attachments]}
        if ch["type"] != 1:
            msg["guild_id"] = ch["guild_id"]
            msg["member"] = self._member_payload(author, with_user=False)
        if reference is not None:
            ref = self.messages[_id(reference)]
            msg["type"], msg["referenced_message"] = 19, {k: v for k, v in ref.items() if k != "referenced_message"}
            msg["message_reference"] = {"message_id": ref["id"], "channel_id": ref["channel_id"],
                                        "guild_id": ref.get("guild_id")}
        self._mentions(msg, None)
        if mentions is not None:
            msg["mentions"] = [self._mention(u, "guild_id" in msg) for u in mentions]
        if mention_roles is not None:
            msg["mention_roles"] = [str(_id(r)) for r in mention_roles]
        if mention_everyone is not None:
            msg["mention_everyone"] = mention_everyone
        self._store(msg, None)
        for conn in list(self._conns):
            in_guild = "guild_id" in msg
            if not conn.intents & (INTENT_GUILD_MESSAGES if in_guild else INTENT_DM_MESSAGES):
                continue
            if (in_guild and not self._owns_guild(conn, int(msg["guild_id"]))) or \
                    (not in_guild and conn.shard and conn.shard[0] != 0):
                continue
            data = msg
            exempt = author_u is self.bot_user or any(m["id"] == self.bot_user["id"] for m in msg["mentions"])
            if in_guild and not conn.intents & INTENT_MESSAGE_CONTENT and not exempt:
                data = dict(msg, content="", embeds=[], attachments=[], components=[])
            await self._send(conn, 0, data, "MESSAGE_CREATE")
        return msg

    # ------------------------------------------------------------------ interactions
    def register_tree(self, tree: discord.app_commands.CommandTree) -> None:
        """Register a client's command tree (global + this guild) as if it had been synced."""
        for guild in (None, discord.Object(self.guild_id)):
            for cmd in tree.get_commands(guild=guild):
                self._upsert_command(cmd.to_dict(tree), guild and self.guild_id)

    def _upsert_command(self, payload: Dict[str, Any], guild_id: Optional[int]) -> Dict[str, Any]:
        key = (guild_id, payload["name"], payload.get("type", 1))
        old = self.commands.get(key)
        cmd = {"type": 1, "options": [], "default_member_permissions": None, "nsfw": False, **payload,
               "id": old["id"] if old else str(self._snowflake()), "application_id": str(self.app_id),
               "version": str(self._snowflake())}
        if guild_id:
            cmd["guild_id"] = str(guild_id)
        self.commands[key] = cmd
        return cmd

    def _find_command(self, name: str, type: int = 1) -> Dict[str, Any]:
        for _ in range(2):
            cmd = self.commands.get((self.guild_id, name, type)) or self.commands.get((None, name, type))
            if cmd is not None:
                return cmd
            tree = getattr(self._client, "tree", None)
            if tree is None:
                break
            self.register_tree(tree)  # the test did not sync: take the commands from the client's tree
        raise KeyError(f"no application command {name!r}; known: {sorted(k[1] for k in self.commands)}")

    def _base_interaction(self, itype: int, user: Any, channel: Any, *, locale: str = "en-US",
                          data: Optional[Dict[str, Any]] = None,
                          message: Optional[Dict[str, Any]] = None) -> _Interaction:
        iid = self._snowflake()
        token = f"fake-token-{iid}"
        cid = _id(channel if channel is not None else self.general)
        ch = self.channels[cid]
        p: Dict[str, Any] = {"id": str(iid), "application_id": str(self.app_id), "type": itype, "token": token,
                             "version": 1, "channel_id": str(cid), "locale": locale, "entitlements": [],
                             "entitlement_sku_ids": [], "attachment_size_limit": 25 * 1024 * 1024,
                             "app_permissions": str(self.permissions_of(self.bot_user))}
        if ch["type"] == 1:
            p.update(user=self.users[_id(user)], context=1, channel=dict(ch),
                     authorizing_integration_owners={"0": str(self.app_id)})
        else:
            member = self._member_payload(user, permissions=True)
            if member is None:
                raise KeyError(f"user {_id(user)} is not a member of the guild")
            gid = ch["guild_id"]
            p.update(guild_id=gid, guild_locale="en-US", member=member, context=0,
                     guild={"id": gid, "locale": "en-US", "features": []},
                     channel=dict(ch, permissions=member["permissions"]),
                     authorizing_integration_owners={"0": gid})
        if data is not None:
            p["data"] = data
        if message is not None:
            p["message"] = copy.deepcopy(message)
        rec = _Interaction(iid, token, itype, p, cid, _id(message) if message else None)
        self.interactions[iid] = rec
        self._tokens[token] = iid
        return rec

    def _option(self, spec: Dict[str, Any], value: Any, resolved: Dict[str, Dict[str, Any]], cid: int,
                focused: bool) -> Dict[str, Any]:
        """One option of an interaction, its value coerced to the synced option type (resolved data added)."""
        t = spec["type"]
        opt: Dict[str, Any] = {"name": spec["name"], "type": t}
        if focused:
            opt.update(value=str(value), focused=True)
        elif t in (3, 4, 5, 10):
            opt["value"] = {3: str, 4: int, 5: bool, 10: float}[t](value)
        elif t == 11:  # attachment
            att = value if isinstance(value, dict) and "url" in value else self.make_attachment(value, cid)
            resolved.setdefault("attachments", {})[att["id"]] = att
            opt["value"] = att["id"]
        else:  # 6 user, 7 channel, 8 role, 9 mentionable -> snowflake + resolved data
            sid = _id(value)
            opt["value"] = str(sid)
            if sid in self.users and t in (6, 9):
                resolved.setdefault("users", {})[str(sid)] = self.users[sid]
                if sid in self.members:
                    member = self._member_payload(sid, with_user=False, permissions=True)
                    resolved.setdefault("members", {})[str(sid)] = member
            elif sid in self.roles:
                resolved.setdefault("roles", {})[str(sid)] = self.roles[sid]
            elif sid in self.channels:
                resolved.setdefault("channels", {})[str(sid)] = dict(self.channels[sid], permissions=str(ALL_PERMS))
        return opt

    def _command_data(self, command: Union[str, Sequence[str]], options: Dict[str, Any], cid: int,
                      focused: Optional[str] = None) -> Dict[str, Any]:
        path = command.split() if isinstance(command, str) else list(command)
        cmd = self._find_command(path[0])
        schema, resolved = cmd.get("options", []), {}
        leaf: List[Dict[str, Any]] = []
        top = leaf
        for sub in path[1:]:
            spec = next((o for o in schema if o["name"] == sub and o["type"] in (1, 2)), None)
            if spec is None:
                raise KeyError(f"no subcommand {sub!r} in {path}; have {[o['name'] for o in schema]}")
            node: Dict[str, Any] = {"name": sub, "type": spec["type"], "options": []}
            leaf.append(node)
            leaf, schema = node["options"], spec.get("options", [])
        for name, value in options.items():
            spec = next((o for o in schema if o["name"] == name), None)
            if spec is None:
                raise KeyError(f"command {' '.join(path)!r} has no option {name!r}; have {[o['name'] for o in schema]}")
            leaf.append(self._option(spec, value, resolved, cid, focused == name))
        data = {"id": cmd["id"], "name": cmd["name"], "type": cmd.get("type", 1), "options": top}
        if resolved:
            data["resolved"] = resolved
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        return data

    async def _create(self, rec: _Interaction, shard: Optional[int] = None) -> int:
        self._check_live(need_session=True)
        in_guild = "guild_id" in rec.payload
        await self.dispatch("INTERACTION_CREATE", rec.payload, guild=in_guild, shard=shard)
        return rec.id

    def shard_of(self, guild: Any, shard_count: int) -> int:
        """Discord's rule: the shard that receives a guild's events."""
        return (_id(guild) >> 22) % shard_count

    async def slash(self, user: Any, command: Union[str, Sequence[str]], options: Optional[Dict[str, Any]] = None, *,
                    channel: Any = None, locale: str = "en-US", shard: Optional[int] = None) -> int:
        """Invoke a chat-input command as ``user``; returns the interaction id.

        ``command`` is ``"ask"``, ``"corpus reload"`` or ``("corpus", "reload")``. Option values are
        coerced from the synced schema: str/int/bool/float, users/roles/channels (payload or id) and
        attachments (``bytes``, ``(filename, bytes[, content_type])`` or an attachment payload).
        """
        cid = _id(channel if channel is not None else self.general)
        data = self._command_data(command, options or {}, cid)
        return await self._create(self._base_interaction(2, user, cid, locale=locale, data=data), shard)

    async def autocomplete(self, user: Any, command: Union[str, Sequence[str]], focused: str, value: str = "",
                           options: Optional[Dict[str, Any]] = None, *, channel: Any = None,
                           timeout: float = 10) -> List[Dict[str, Any]]:
        """Send an autocomplete interaction (type 4) for option ``focused`` typed as ``value``; returns the choices."""
        cid = _id(channel if channel is not None else self.general)
        data = self._command_data(command, {**(options or {}), focused: value}, cid, focused=focused)
        iid = await self._create(self._base_interaction(4, user, cid, data=data))
        return await self._wait(lambda: self.interactions[iid].choices, timeout, "autocomplete choices")

    def _find_component(self, components: Any, custom_id: str) -> Optional[Dict[str, Any]]:
        for c in components or []:
            if c.get("custom_id") == custom_id:
                return c
            for key in ("components", "component", "accessory"):
                sub = c.get(key)
                found = self._find_component(sub if isinstance(sub, list) else [sub] if sub else [], custom_id)
                if found:
                    return found
        return None

    def _message_with(self, message: Any, custom_id: str) -> Dict[str, Any]:
        if message is None:
            for m in reversed(list(self.messages.values())):
                if int(m["id"]) not in self.deleted and self._find_component(m["components"], custom_id):
                    return m
            raise KeyError(f"no message has a component {custom_id!r}")
        msg = self.messages[_id(message)]
        if not self._find_component(msg["components"], custom_id):
            raise KeyError(f"message {msg['id']} has no component {custom_id!r}: {msg['components']}")
        return msg

    async def click(self, user: Any, message: Any, custom_id: str, *, shard: Optional[int] = None) -> int:
        """Press button ``custom_id`` on ``message`` (payload/id, or None = newest message having it)."""
        msg = self._message_with(message, custom_id)
        return await self._create(self._base_interaction(3, user, int(msg["channel_id"]), message=msg,
                                                         data={"custom_id": custom_id, "component_type": 2}), shard)

    async def select(self, user: Any, message: Any, custom_id: str, values: Sequence[str], *,
                     component_type: int = 3, resolved: Optional[Dict[str, Any]] = None) -> int:
        """Choose ``values`` in select menu ``custom_id`` on ``message``; returns the interaction id."""
        msg = self._message_with(message, custom_id)
        data = {"custom_id": custom_id, "component_type": component_type, "values": [str(v) for v in values]}
        if resolved:
            data["resolved"] = resolved
        return await self._create(self._base_interaction(3, user, int(msg["channel_id"]), message=msg, data=data))

    async def submit_modal(self, user: Any, fields: Dict[str, Any], custom_id: Optional[str] = None, *,
                           channel: Any = None) -> int:
        """Submit a modal the bot opened (the newest one, or the one with ``custom_id``).

        ``fields`` maps input custom_id -> text (or a list of values for selects); inputs left out are
        submitted empty; the submitted components mirror the modal's own layout (action rows or labels).
        """
        opener = next((r for r in reversed(list(self.interactions.values()))
                       if r.modal and (custom_id is None or r.modal["custom_id"] == custom_id)), None)
        if opener is None and custom_id is None:
            raise KeyError("no modal has been opened")
        remaining = dict(fields)

        def leaf(c: Dict[str, Any]) -> Optional[Dict[str, Any]]:
            if c.get("type") == 1:
                kids = [x for x in (leaf(k) for k in c.get("components", [])) if x]
                return {"type": 1, "components": kids} if kids else None
            if c.get("type") == 18:
                inner = leaf(c["component"])
                return {"type": 18, "component": inner} if inner else None
            if "custom_id" in c:  # Discord submits every input; ones not given are empty
                v = remaining.pop(c["custom_id"], "" if c.get("type") == 4 else [])
                out = {"type": c["type"], "custom_id": c["custom_id"]}
                out.update({"values": list(v)} if isinstance(v, (list, tuple)) else {"value": v})
                return out
            return None

        if opener is not None:
            components = [x for x in (leaf(c) for c in opener.modal["components"]) if x]
            if remaining:
                raise KeyError(f"modal {opener.modal['custom_id']!r} has no inputs {list(remaining)}")
            custom_id = opener.modal["custom_id"]
        else:
            components = [{"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
                          for k, v in fields.items()]
        message = self.messages.get(opener.message_id) if opener and opener.message_id else None
        cid = channel if channel is not None else (opener.channel_id if opener else None)
        return await self._create(self._base_interaction(5, user, cid, message=message,
                                                         data={"custom_id": custom_id, "components": components}))

    # ------------------------------------------------------------------ REST
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        files: List[UploadedFile] = []
        if request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    body = json.loads(data)
                else:
                    ctype = part.headers.get("Content-Type")  # type: ignore[union-attr]
                    files.append(UploadedFile(part.name, part.filename, ctype, bytes(data)))  # type: ignore[union-attr]
        elif request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw else None
        req = Request(request.method, path, dict(request.query), body, files)
        self.requests.append(req)
        for method, pattern, handler in _ROUTES:
            m = re.fullmatch(pattern, path)
            if m and method == request.method:
                try:
                    resp = await handler(self, req, *m.groups())
                except Exception as exc:  # a bug in the fake or a malformed request: fail fast, no 5xx retries
                    log.exception("fake discord failed on %s %s", request.method, path)
                    self.client_errors.append(f"fake discord: {request.method} {path}: {exc!r}")
                    resp = _error(400, f"fake discord error: {exc!r}", 50035)
                break
        else:
            log.warning("fake discord: unknown route %s %s", request.method, path)
            self.unknown_requests.append(req)
            resp = _error(404, f"404: Not Found (fake discord has no route {request.method} {path})")
        req.status = resp.status
        self._notify()
        return resp

    async def _r_me(self, req: Request) -> web.Response:
        return _json(self.bot_user)

    async def _r_app(self, req: Request) -> web.Response:
        return _json({"id": str(self.app_id), "name": self.bot_user["username"], "description": "", "icon": None,
                      "bot_public": True, "bot_require_code_grant": False, "owner": self.users[self.owner_id],
                      "verify_key": "0" * 64, "flags": 0, "team": None, "summary": "", "bot": self.bot_user})

    async def _r_gateway(self, req: Request) -> web.Response:
        return _json({"url": self.gateway_url, "shards": 1,
                      "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                              "max_concurrency": 1}})

    async def _r_put_commands(self, req: Request, app: str, guild: Optional[str] = None) -> web.Response:
        gid = int(guild) if guild else None
        for key in [k for k in self.commands if k[0] == gid]:
            del self.commands[key]
        return _json([self._upsert_command(p, gid) for p in req.json or []])

    async def _r_get_commands(self, req: Request, app: str, guild: Optional[str] = None) -> web.Response:
        gid = int(guild) if guild else None
        return _json([c for k, c in self.commands.items() if k[0] == gid])

    async def _r_post_message(self, req: Request, cid: str) -> web.Response:
        if int(cid) not in self.channels:
            return _error(404, "Unknown Channel", 10003)
        body = req.json or {}
        if body.get("enforce_nonce") and body.get("nonce") is not None:
            # As Discord: a message with the same nonce from the same author in the last minutes is returned,
            # not created again (what makes a re-post after a crash idempotent).
            recent = time.time() - NONCE_WINDOW_SECONDS
            for earlier in self.messages.values():
                if (earlier["channel_id"] == cid and earlier.get("nonce") == body["nonce"]
                        and earlier["author"]["id"] == self.bot_user["id"]
                        and _dt.datetime.fromisoformat(earlier["timestamp"]).timestamp() >= recent):
                    self.nonce_hits += 1
                    return _json(earlier)
        msg = self._new_bot_message(int(cid), body, req.files)
        await self._echo("MESSAGE_CREATE", msg)
        return _json(msg)

    def _get_msg(self, cid: str, mid: str) -> Optional[Dict[str, Any]]:
        msg = self.messages.get(int(mid))
        return msg if msg is not None and msg["channel_id"] == cid and int(mid) not in self.deleted else None

    async def _r_message(self, req: Request, cid: str, mid: str) -> web.Response:
        msg = self._get_msg(cid, mid)
        if msg is None:
            return _error(404, "Unknown Message", 10008)
        if req.method == "GET":
            return _json(msg)
        if req.method == "DELETE":
            self.deleted.add(int(mid))
            await self._echo("MESSAGE_DELETE", msg)
            return web.Response(status=204)
        msg = self._edit_message(msg, req.json or {}, req.files)
        await self._echo("MESSAGE_UPDATE", msg)
        return _json(msg)

    async def _r_history(self, req: Request, cid: str) -> web.Response:
        q = req.query
        msgs = [m for m in self.messages_in(cid, include_users=True)[::-1]
                if int(q.get("before", 1 << 63)) > int(m["id"]) > int(q.get("after", 0))]
        return _json(msgs[: int(q.get("limit", 50))])

    async def _r_no_content(self, req: Request, *args: str) -> web.Response:
        return web.Response(status=204)

    async def _r_channel(self, req: Request, cid: str) -> web.Response:
        ch = self.channels.get(int(cid))
        return _json(ch) if ch else _error(404, "Unknown Channel", 10003)

    async def _r_dm(self, req: Request) -> web.Response:
        return _json(self.dm_channel(req.json["recipient_id"]))

    async def _r_member(self, req: Request, gid: str, uid: str) -> web.Response:
        m = self._member_payload(int(uid))
        return _json(m) if m else _error(404, "Unknown Member", 10007)

    async def _r_user(self, req: Request, uid: str) -> web.Response:
        u = self.users.get(int(uid))
        return _json(u) if u else _error(404, "Unknown User", 10013)

    async def _r_callback(self, req: Request, iid: str, token: str) -> web.Response:
        rec = self.interactions.get(int(iid))
        if rec is None or rec.token != token:
            return _error(404, "Unknown interaction", 10062)
        if rec.callback_type is not None:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        body = req.json or {}
        t, data = body.get("type"), body.get("data") or {}
        rec.callback_type = t
        msg = None
        if t in (4, 5):
            flags = (data.get("flags") or 0) | (LOADING if t == 5 else 0)
            content = dict(data, flags=flags) if t == 4 else {"flags": flags}
            msg = self._new_bot_message(rec.channel_id, content, req.files, mtype=20 if rec.type == 2 else 0,
                                        webhook=True)
            rec.original_id = int(msg["id"])
            await self._echo("MESSAGE_CREATE", msg)
        elif t in (6, 7) and rec.message_id is not None:
            rec.original_id = rec.message_id
            msg = self.messages[rec.message_id]
            if t == 7:
                msg = self._edit_message(msg, data, req.files)
                await self._echo("MESSAGE_UPDATE", msg)
        elif t == 8:
            rec.choices = data.get("choices", [])
        elif t == 9:
            rec.modal = data
        rec.events.append(InteractionEvent("callback", t, int(msg["id"]) if msg else None, body, req.files))
        self._notify()
        if req.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        out: Dict[str, Any] = {"interaction": {
            "id": iid, "type": rec.type, "response_message_id": msg["id"] if msg else None,
            "response_message_loading": t == 5, "response_message_ephemeral": bool(msg and msg["flags"] & EPHEMERAL)}}
        if msg is not None and t in (4, 5, 7):
            out["resource"] = {"type": t, "message": msg}
        return _json(out)

    def _rec_for(self, token: str) -> Optional[_Interaction]:
        iid = self._tokens.get(token)
        return self.interactions.get(iid) if iid is not None else None

    async def _r_followup(self, req: Request, app: str, token: str) -> web.Response:
        rec = self._rec_for(token)
        if rec is None:
            return _error(404, "Unknown Webhook", 10015)
        body = req.json or {}
        original = self.messages.get(rec.original_id) if rec.original_id and rec.original_id not in self.deleted \
            else None
        if rec.callback_type == 5 and original is not None and original["flags"] & LOADING:
            msg = self._edit_message(original, body, req.files)  # first follow-up replaces the "thinking" message
            await self._echo("MESSAGE_UPDATE", msg)
        else:
            msg = self._new_bot_message(rec.channel_id, body, req.files, webhook=True)
            await self._echo("MESSAGE_CREATE", msg)
        rec.events.append(InteractionEvent("followup", None, int(msg["id"]), body, req.files))
        self._notify()
        return _json(msg) if req.query.get("wait") in ("1", "true", "True") else web.Response(status=204)

    async def _r_webhook_message(self, req: Request, app: str, token: str, mid: str) -> web.Response:
        rec = self._rec_for(token)
        if rec is None:
            return _error(404, "Unknown Webhook", 10015)
        target = rec.original_id if mid == "@original" else int(mid)
        msg = self.messages.get(target) if target else None
        if msg is None or target in self.deleted:
            return _error(404, "Unknown Message", 10008)
        if req.method == "GET":
            return _json(msg)
        if req.method == "DELETE":
            self.deleted.add(target)
            rec.events.append(InteractionEvent("delete", None, target, {}, []))
            self._notify()
            await self._echo("MESSAGE_DELETE", msg)
            return web.Response(status=204)
        msg = self._edit_message(msg, req.json or {}, req.files)
        rec.events.append(InteractionEvent("edit", None, target, req.json or {}, req.files))
        self._notify()
        await self._echo("MESSAGE_UPDATE", msg)
        return _json(msg)


_S = r"(\d+)"
_ROUTES: List[Tuple[str, str, Callable[..., Any]]] = [
    ("GET", r"/users/@me", FakeDiscord._r_me),
    ("GET", r"/oauth2/applications/@me", FakeDiscord._r_app),
    ("GET", r"/gateway(?:/bot)?", FakeDiscord._r_gateway),
    ("PUT", rf"/applications/{_S}/commands", FakeDiscord._r_put_commands),
    ("PUT", rf"/applications/{_S}/guilds/{_S}/commands", FakeDiscord._r_put_commands),
    ("GET", rf"/applications/{_S}/commands", FakeDiscord._r_get_commands),
    ("GET", rf"/applications/{_S}/guilds/{_S}/commands", FakeDiscord._r_get_commands),
    ("POST", rf"/channels/{_S}/messages", FakeDiscord._r_post_message),
    ("GET", rf"/channels/{_S}/messages", FakeDiscord._r_history),
    ("GET", rf"/channels/{_S}/messages/{_S}", FakeDiscord._r_message),
    ("PATCH", rf"/channels/{_S}/messages/{_S}", FakeDiscord._r_message),
    ("DELETE", rf"/channels/{_S}/messages/{_S}", FakeDiscord._r_message),
    ("POST", rf"/channels/{_S}/typing", FakeDiscord._r_no_content),
    ("PUT", rf"/channels/{_S}/messages/{_S}/reactions/([^/]+)/@me", FakeDiscord._r_no_content),
    ("DELETE", rf"/channels/{_S}/messages/{_S}/reactions/([^/]+)/([^/]+)", FakeDiscord._r_no_content),
    ("GET", rf"/channels/{_S}", FakeDiscord._r_channel),
    ("POST", r"/users/@me/channels", FakeDiscord._r_dm),
    ("GET", rf"/guilds/{_S}/members/{_S}", FakeDiscord._r_member),
    ("GET", rf"/users/{_S}", FakeDiscord._r_user),
    ("POST", rf"/interactions/{_S}/([^/]+)/callback", FakeDiscord._r_callback),
    ("POST", rf"/webhooks/{_S}/([^/]+)", FakeDiscord._r_followup),
    ("GET", rf"/webhooks/{_S}/([^/]+)/messages/(@original|\d+)", FakeDiscord._r_webhook_message),
    ("PATCH", rf"/webhooks/{_S}/([^/]+)/messages/(@original|\d+)", FakeDiscord._r_webhook_message),
    ("DELETE", rf"/webhooks/{_S}/([^/]+)/messages/(@original|\d+)", FakeDiscord._r_webhook_message),
]
