"""The people of the bench, as Locust users (FastHttpUser), and what they do on the screens.

    Registrant   whole registrations, one after another: terms → identity → key mail →
                 key + password → 完了 (④). It enters the key the moment the mail arrives and
                 never retries: any other answer ends the flow as failed (Flow.step, .why).
    PageReader   reads every GET page at a fixed rate (constant_throughput), round robin. It
                 first prepares one browser per state a page needs (a flow at ②, at ③,
                 completed, logged in, waiting for the one-time password).
    LoginUser    logs in (ID + password, then the one-time password from its mail) again and
                 again during the burst window only.

Each browser is a FastHttpSession with its own cookies; forms are posted with the hidden
fields of the page they were read from (CSRF token, terms versions), as a browser does.
`shared` holds what the users share with bench/load.py: the mailbox, the job seekers left,
the time windows and the flows' outcomes.
"""

import html
import itertools
import re
import time
from dataclasses import dataclass, field

import gevent
from gevent.event import AsyncResult
from locust import FastHttpUser, constant, task
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import StopUser

PASSWORD = "Bench#2026pass"  # noqa: S105 - the bench accounts' password
BIRTH = {"birth_year": "1990", "birth_month": "4", "birth_day": "1"}
MAIL_TIMEOUT = 60  # seconds a user waits for a key or one-time password mail

HIDDEN_RE = re.compile(r'<input\b[^>]*\btype="hidden"[^>]*>')
ATTR_RE = re.compile(r'\b(name|value)="([^"]*)"')
NOTICE_RE = re.compile(
    r'<(?:div|ul) class="(?:error-summary|messages)".*?</ul>', re.DOTALL
)  # the error summary of a form, and the messages of a redirect
ITEM_RE = re.compile(r"<li\b[^>]*>(.*?)</li>", re.DOTALL)
TAG_RE = re.compile(r"<[^>]+>")


def address(n: int) -> str:
    return f"seeker{n:06d}@bench.example.jp"


def hidden_fields(page: str) -> dict:
    fields = {}
    for tag in HIDDEN_RE.findall(page):
        attrs = dict(ATTR_RE.findall(tag))
        if "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


def notices(page: str) -> str:
    """The text of the error summary and messages a page shows ("" when none)."""
    texts = []
    for block in NOTICE_RE.findall(page):
        for item in ITEM_RE.findall(block):
            text = " ".join(html.unescape(TAG_RE.sub("", item)).split())
            if text:
                texts.append(text)
    return " / ".join(texts)


class Mailbox:
    """Codes from the SMTP sink (bench/parts/sink.py), handed to whoever waits for them."""

    def __init__(self) -> None:
        self.waiting: dict[str, AsyncResult] = {}

    def expect(self, to: str) -> AsyncResult:
        """Called before the request that sends the mail, so that no code is missed."""
        self.waiting[to] = AsyncResult()
        return self.waiting[to]

    def deliver(self, to: str, code: str) -> None:
        waiter = self.waiting.pop(to, None)
        if waiter is not None:
            waiter.set(code)


@dataclass
class Flow:
    """One whole registration or login: when it ran, and where and why it failed."""

    kind: str
    started: float
    ended: float = 0.0
    step: str = ""  # "" when it succeeded
    why: str = ""


@dataclass
class Shared:
    mailbox: Mailbox = field(default_factory=Mailbox)
    seekers: itertools.count = field(default_factory=itertools.count)
    seekers_total: int = 0
    flows: list = field(default_factory=list)  # Flow of every registration and login
    flows_until: float = float("inf")  # Registrants start no flow after this
    burst: tuple = (float("inf"), float("inf"))  # LoginUsers log in within this window
    ready: int = 0  # users done with on_start
    setup_failures: list = field(default_factory=list)
    active: int = 0  # flows running now

    def take_seeker(self) -> str:
        n = next(self.seekers)
        if n >= self.seekers_total:
            self.setup_failures.append("the job seekers are used up: raise --seekers")
            raise StopUser()  # bench/load.py reports it too at the end
        return address(n)


shared = Shared()


class FlowFailed(Exception):
    def __init__(self, step: str, why: str) -> None:
        super().__init__(f"{step}: {why}")
        self.step, self.why = step, why


class Browser:
    """One browser: its own cookies; each request named `<label> <step>` in the figures."""

    def __init__(self, user: FastHttpUser, label: str, session: FastHttpSession | None = None):
        self.http = session or FastHttpSession(
            user.host,
            user.environment.events.request,
            user,
            network_timeout=user.network_timeout,
            connection_timeout=user.connection_timeout,
            max_retries=0,  # as FastHttpUser's own client: a failure is never retried
        )
        self.label = label

    def get(self, path: str, step: str) -> str:
        """GET → 200; returns the page."""
        with self.http.get(
            path, name=f"{self.label} {step}", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                why = answer(response)
                response.failure(why)
                raise FlowFailed(step, why)
            return response.text

    def post(self, path: str, form_page: str, data: dict, step: str) -> str:
        """POSTs a form of `form_page` (with its hidden fields); returns where it redirects.
        Any answer but a redirect is a failure, with the page's error text as the reason."""
        with self.http.post(
            path,
            data={**hidden_fields(form_page), **data},
            name=f"{self.label} {step}",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                text = notices(response.text or "") if response.status_code == 200 else ""
                why = text or answer(response)
                response.failure(why)
                raise FlowFailed(step, why)
            return response.headers["Location"]

    def post_to(self, path: str, form_page: str, data: dict, step: str, expected: str) -> None:
        location = self.post(path, form_page, data, step)
        if location != expected:
            self.failed_redirect(step, location)

    def failed_redirect(self, step: str, location: str) -> None:
        """A redirect elsewhere: the failure's reason is the message shown there (one GET to
        read it, as the person would; it is not a retry)."""
        with self.http.get(location, name="failure: read message", catch_response=True) as page:
            page.success()
            text = notices(page.text or "")
        raise FlowFailed(step, f"→ {location}: {text}" if text else f"→ {location}")


def answer(response) -> str:
    """A short description of an unexpected answer (or of the error when there was none)."""
    if not response.status_code:
        return f"no answer: {response.error!r}"[:200]
    return f"HTTP {response.status_code} {response.headers.get('Location', '')}".strip()


def wait_for_code(waiter: AsyncResult, step: str) -> str:
    try:
        return waiter.get(timeout=MAIL_TIMEOUT)
    except gevent.Timeout:
        raise FlowFailed(step, f"no mail within {MAIL_TIMEOUT} s") from None


SETUP_PAUSE = 3  # seconds: a setup registration (not measured) waits this long before the key


def register(browser: Browser, to: str, *, finish: bool = True, pause: float = 0) -> None:
    """A registration as a person makes it; `finish=False` stops at ③ with the key mailed.
    Measured flows enter the key at once (pause 0); setup, which must not fail and is not
    measured, pauses like a person reading the mail."""
    page = browser.get("/register/", "GET ① terms")
    browser.post_to("/register/", page, {"agree": "on"}, "POST ① agree", "/register/identity/")
    page = browser.get("/register/identity/", "GET ② identity")
    key_mail = shared.mailbox.expect(to)
    data = {"email": to, **BIRTH}
    browser.post_to("/register/identity/", page, data, "POST ② identity", "/register/password/")
    page = browser.get("/register/password/", "GET ③ password")
    if not finish:
        return
    key = wait_for_code(key_mail, "key mail")
    gevent.sleep(pause)
    data = {"key": key, "password1": PASSWORD, "password2": PASSWORD}
    step = "POST ③ key+password (hash)"
    browser.post_to("/register/password/", page, data, step, "/register/done/")
    browser.get("/register/done/", "GET ④ done")


def registered_account(user: FastHttpUser) -> tuple[Browser, str]:
    """A registered account for a user's setup, which is not measured and must not fail: a
    failed registration is replaced by another job seeker's (three tries)."""
    for tries_left in (2, 1, 0):
        browser, to = Browser(user, "setup"), shared.take_seeker()
        try:
            register(browser, to, pause=SETUP_PAUSE)
        except FlowFailed:
            if not tries_left:
                raise
        else:
            return browser, to


def log_in(browser: Browser, to: str, *, finish: bool = True) -> None:
    """ID + password, then the one-time password when asked for; `finish=False` stops at the
    one-time password page."""
    page = browser.get("/login/", "GET login")
    code_mail = shared.mailbox.expect(to)
    data = {"login_id": to, "password": PASSWORD}
    location = browser.post("/login/", page, data, "POST login (hash)")
    if location.startswith("/login/otp/"):
        page = browser.get("/login/otp/", "GET one-time password")
        if not finish:
            return
        code = wait_for_code(code_mail, "one-time password mail")
        location = browser.post("/login/otp/", page, {"code": code}, "POST one-time password")
    shared.mailbox.waiting.pop(to, None)
    if location != "/mypage/":
        browser.failed_redirect("login", location)
    browser.get("/mypage/", "GET My Page")


def run_flow(kind: str, action) -> Flow:
    flow = Flow(kind, time.monotonic())
    shared.active += 1
    try:
        action()
    except FlowFailed as failed:
        flow.step, flow.why = failed.step, failed.why
    except Exception as exc:  # noqa: BLE001 - any other error is a failed flow too, counted
        flow.step, flow.why = "client", repr(exc)[:200]
    finally:
        shared.active -= 1
        flow.ended = time.monotonic()
        shared.flows.append(flow)
    return flow


class Registrant(FastHttpUser):
    """Whole registrations; bench/load.py sets wait_time (none, or a fixed rate)."""

    wait_time = constant(0)

    def on_start(self) -> None:
        shared.ready += 1

    @task
    def registration(self) -> None:
        if time.monotonic() >= shared.flows_until:
            raise StopUser()
        to = shared.take_seeker()
        self.client.cookiejar.clear()  # a new person, a new browser
        run_flow("registration", lambda: register(Browser(self, "flow", self.client), to))


class PageReader(FastHttpUser):
    """GETs each page in turn; bench/load.py sets wait_time = constant_throughput(rate)."""

    pages = None

    def on_start(self) -> None:
        try:
            self.prepare()
        except FlowFailed as failed:
            shared.setup_failures.append(str(failed))  # bench/load.py stops the run
            return
        shared.ready += 1

    def prepare(self) -> None:
        anonymous = Browser(self, "page", self.client)
        at_identity = Browser(self, "setup")
        at_identity.post_to(
            "/register/",
            at_identity.get("/register/", "setup"),
            {"agree": "on"},
            "setup",
            "/register/identity/",
        )
        at_password = Browser(self, "setup")
        register(at_password, shared.take_seeker(), finish=False)
        completed, account = registered_account(self)
        logged_in = Browser(self, "setup")
        log_in(logged_in, account)
        at_otp = Browser(self, "setup")
        log_in(at_otp, account, finish=False)
        for browser in (at_identity, at_password, completed, logged_in, at_otp):
            browser.label = "page"
        self.pages = itertools.cycle(
            [
                (anonymous, "/", "GET top"),
                (anonymous, "/register/", "GET ① terms"),
                (anonymous, "/terms/mypage/", "GET terms document"),
                (at_identity, "/register/identity/", "GET ② identity"),
                (at_password, "/register/password/", "GET ③ password"),
                (completed, "/register/done/", "GET ④ done"),
                (anonymous, "/login/", "GET login"),
                (at_otp, "/login/otp/", "GET one-time password"),
                (anonymous, "/password-reset/", "GET password reset"),
                (logged_in, "/mypage/", "GET My Page"),
            ]
        )

    @task
    def read(self) -> None:
        if self.pages is None:
            raise StopUser()
        browser, path, step = next(self.pages)
        try:
            browser.get(path, step)
        except FlowFailed:
            pass  # counted as an error of that page in the figures


class LoginUser(FastHttpUser):
    """Logs in again and again with its own account, within shared.burst only."""

    wait_time = constant(0)

    account = None

    def on_start(self) -> None:
        try:
            _browser, account = registered_account(self)
        except FlowFailed as failed:
            shared.setup_failures.append(str(failed))  # bench/load.py stops the run
            return
        self.account = account
        shared.ready += 1

    @task
    def login(self) -> None:
        if self.account is None:
            raise StopUser()
        start, end = shared.burst
        if time.monotonic() < start:
            gevent.sleep(min(0.1, start - time.monotonic()))
            return
        if time.monotonic() >= end:
            raise StopUser()
        self.client.cookiejar.clear()
        run_flow("login", lambda: log_in(Browser(self, "burst", self.client), self.account))
