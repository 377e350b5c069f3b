//! The public HTTP API, as a client speaks it: the same requests the browser's pages make.
//! Every string in an answer that the client may show is decoded through `printable`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use rand::distr::{Alphanumeric, SampleString};

use super::printable;

/// The User-Agent the terminal client sends.
pub const TERMINAL_AGENT: &str = concat!("chatroom-terminal/", env!("CARGO_PKG_VERSION"));

/// What went wrong, in words for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No answer (refused, reset, timed out): worth retrying.
    Unreachable,
    /// The session ended (logged out elsewhere, expired).
    LoggedOut,
    WrongPassword,
    RoomDeleted,
    /// The message acted on was deleted.
    MessageDeleted,
    /// The room is no longer this user's room (they entered another one elsewhere).
    NotInRoom,
    NotFound,
    /// Any other refusal, with the server's own words.
    Refused {
        code: String,
        message: String,
    },
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable => f.write_str("server unreachable: retrying"),
            Self::LoggedOut => f.write_str("you are logged out: log in again"),
            Self::WrongPassword => f.write_str("wrong username or password"),
            Self::RoomDeleted => f.write_str("the room was deleted"),
            Self::MessageDeleted => f.write_str("that message was deleted"),
            Self::NotInRoom => f.write_str("you left this room or entered another one elsewhere"),
            Self::NotFound => f.write_str("no such room"),
            Self::Refused { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, Clone, Deserialize)]
pub struct UserInfo {
    pub id: i32,
    #[serde(deserialize_with = "printable::string")]
    pub username: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LoggedIn {
    pub user: UserInfo,
    pub csrf_token: String,
    pub current_room: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RoomInfo {
    pub id: i32,
    #[serde(deserialize_with = "printable::string")]
    pub name: String,
    #[serde(deserialize_with = "printable::string")]
    pub creator: String,
    pub direct: bool,
    pub present: usize,
    pub unread: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RoomRef {
    pub id: i32,
    #[serde(deserialize_with = "printable::string")]
    pub name: String,
    pub creator_id: i32,
    pub direct: bool,
}

/// One entry of a room's log.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    #[serde(deserialize_with = "printable::string")]
    pub kind: String,
    #[serde(deserialize_with = "printable::string")]
    pub author: String,
    /// Its lines kept, joined by '\n' (see `printable::printable_text`).
    #[serde(deserialize_with = "printable::text")]
    pub text: String,
    #[serde(deserialize_with = "printable::string")]
    pub sent_at: String,
    #[serde(default)]
    pub target: Option<i64>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub edited: bool,
    #[serde(default)]
    pub reply_to: Option<Quote>,
    /// First reacted first.
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    /// For a message and an edit: the canonical names of the accounts it mentions.
    #[serde(default, deserialize_with = "printable::strings")]
    pub mentions: Vec<String>,
    /// For a message: the file it carries.
    #[serde(default)]
    pub attachment: Option<Attachment>,
    /// Written by a bot, or by an incoming webhook under its name (absent otherwise).
    #[serde(default)]
    pub bot: bool,
}

impl Entry {
    /// Its author as the log shows them: a bot's (or a webhook's) name carries a tag, so that
    /// a webhook posting under a person's name is never taken for that person.
    pub fn byline(&self) -> String {
        if self.bot {
            format!("{} [bot]", self.author)
        } else {
            self.author.clone()
        }
    }
}

/// A message's file, as far as the terminal shows it: its name, its size and where it is.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Attachment {
    #[serde(deserialize_with = "printable::string")]
    pub name: String,
    /// In bytes.
    pub size: u64,
    /// As the server gives it: a path on the server (`/attachments/12`).
    #[serde(deserialize_with = "printable::string")]
    pub url: String,
}

/// The message a reply answers, as the reply carries it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Quote {
    pub id: i64,
    #[serde(deserialize_with = "printable::string")]
    pub author: String,
    /// The start of its current text, on one line; empty once it was deleted.
    #[serde(deserialize_with = "printable::string")]
    pub excerpt: String,
}

/// One emoji (or short word) on a message, with who reacted, in the order they did.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Reaction {
    #[serde(deserialize_with = "printable::string")]
    pub emoji: String,
    pub count: usize,
    #[serde(deserialize_with = "printable::strings")]
    pub by: Vec<String>,
}

/// Where a search result was said: a room, or a direct conversation under the other person's
/// name.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct FoundRoom {
    pub id: i32,
    #[serde(deserialize_with = "printable::string")]
    pub name: String,
    pub direct: bool,
}

/// One search result: a message as it is now, and its room.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Hit {
    pub room: FoundRoom,
    pub message: Entry,
}

/// A page of search results, newest first, and the cursor of the next page if there is one.
#[derive(Debug, Clone, Deserialize)]
pub struct Found {
    pub results: Vec<Hit>,
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entered {
    pub room: RoomRef,
    pub messages: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Poll {
    pub messages: Vec<Entry>,
    /// Who is present and who is typing; left out (`None`) while they are the lists that
    /// `people_tag` stands for, when the poll sent it.
    #[serde(default, deserialize_with = "printable::some_strings")]
    pub present: Option<Vec<String>>,
    #[serde(default, deserialize_with = "printable::some_strings")]
    pub typing: Option<Vec<String>>,
    #[serde(default)]
    pub people_tag: Option<String>,
}

/// A login to keep between runs: the session cookie and its CSRF token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedSession {
    pub server: String,
    pub username: String,
    pub cookie: String,
    pub csrf_token: String,
}

pub struct Api {
    http: reqwest::Client,
    jar: Arc<Jar>,
    base: Url,
    csrf: Option<String>,
}

/// The answer to posting or changing a message: the message as it now is.
#[derive(Deserialize)]
struct OneMessage {
    message: Entry,
}

/// A file to send with `Api::upload`.
pub struct FileToSend<'a> {
    /// The name it is shown and downloaded under (the server keeps its last path part).
    pub name: &'a str,
    pub bytes: &'a [u8],
    /// The client's own name for this upload: a retry is never stored twice.
    pub client_id: &'a str,
}

/// How long an upload may take beyond the usual answer time: a second for every 32 KiB, as
/// the server allows a slow connection.
fn upload_timeout(bytes: usize) -> Duration {
    Duration::from_secs(10 + (bytes / (32 * 1024)) as u64)
}

/// The multipart/form-data body of an upload (RFC 7578), built by hand: its Content-Type and
/// its bytes. The boundary is random, and drawn again in the (unlikely) case that it occurs in
/// what it separates.
fn multipart_body(file: &FileToSend<'_>) -> (String, Vec<u8>) {
    let boundary = loop {
        let candidate = format!(
            "chatroom-{}",
            Alphanumeric.sample_string(&mut rand::rng(), 32)
        );
        let found = |haystack: &[u8]| {
            haystack
                .windows(candidate.len())
                .any(|w| w == candidate.as_bytes())
        };
        if !found(file.bytes) && !found(file.client_id.as_bytes()) {
            break candidate;
        }
    };
    // The plain `filename` for servers that read only that (quotes, backslashes, line breaks
    // and anything not ASCII replaced), the whole name in `filename*` (RFC 5987).
    let ascii: String = file
        .name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let encoded = path_segment(file.name);
    let mut body = Vec::with_capacity(file.bytes.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\n{}\r\n",
            file.client_id
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{ascii}\"; filename*=UTF-8''{encoded}\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `text` percent-encoded to stand as one segment of a path (or one value of a query): every
/// byte but the unreserved ASCII ones (RFC 3986) escaped, so "/" or "?" in a reaction cannot
/// change the route, nor "&" or "#" in a search the query.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(deserialize_with = "printable::string")]
    error: String,
    #[serde(deserialize_with = "printable::string")]
    message: String,
}

impl Api {
    pub fn new(server: &str) -> anyhow::Result<Self> {
        let base: Url = server
            .parse()
            .map_err(|_| anyhow::anyhow!("{server} is not a URL (try http://127.0.0.1:8080)"))?;
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            // The account page lists this session as "terminal".
            .user_agent(TERMINAL_AGENT)
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            http,
            jar,
            base,
            csrf: None,
        })
    }

    pub fn server(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> ApiResult<Option<T>> {
        Ok(self.call_for_status(method, path, body).await?.1)
    }

    /// As `call`, with the status of a successful answer.
    async fn call_for_status<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> ApiResult<(StatusCode, Option<T>)> {
        let mut request = self.request(method, path)?;
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::answer(request).await
    }

    /// A request to `path` on the server, with the CSRF token once logged in.
    fn request(&self, method: Method, path: &str) -> ApiResult<reqwest::RequestBuilder> {
        let url = self.base.join(path).map_err(|_| ApiError::NotFound)?;
        let mut request = self.http.request(method, url);
        if let Some(token) = &self.csrf {
            request = request.header("X-CSRF-Token", token);
        }
        Ok(request)
    }

    /// Sends the request and reads its answer: the body of a success, or the refusal as an
    /// `ApiError`.
    async fn answer<T: DeserializeOwned>(
        request: reqwest::RequestBuilder,
    ) -> ApiResult<(StatusCode, Option<T>)> {
        let response = request.send().await.map_err(|_| ApiError::Unreachable)?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok((status, None));
        }
        if status.is_success() {
            return response
                .json::<T>()
                .await
                .map(|body| (status, Some(body)))
                .map_err(|_| ApiError::Unreachable);
        }
        if status.is_server_error() {
            return Err(ApiError::Unreachable);
        }
        let error = response.json::<ErrorBody>().await.ok();
        let code = error.as_ref().map_or("", |e| e.error.as_str());
        Err(match (status, code) {
            (StatusCode::UNAUTHORIZED, "invalid_credentials") => ApiError::WrongPassword,
            (StatusCode::UNAUTHORIZED, _) => ApiError::LoggedOut,
            (StatusCode::GONE, "message_deleted") => ApiError::MessageDeleted,
            (StatusCode::GONE, _) => ApiError::RoomDeleted,
            (StatusCode::FORBIDDEN, "not_in_room") => ApiError::NotInRoom,
            (StatusCode::NOT_FOUND, _) => ApiError::NotFound,
            _ => ApiError::Refused {
                code: code.to_owned(),
                message: error.map_or_else(|| format!("the server said {status}"), |e| e.message),
            },
        })
    }

    async fn expect<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> ApiResult<T> {
        self.call(method, path, body)
            .await?
            .ok_or(ApiError::Unreachable)
    }

    async fn start_session(
        &mut self,
        path: &str,
        username: &str,
        password: &str,
    ) -> ApiResult<LoggedIn> {
        self.csrf = None;
        let body = json!({ "username": username, "password": password });
        let logged_in: LoggedIn = self.expect(Method::POST, path, Some(body)).await?;
        self.csrf = Some(logged_in.csrf_token.clone());
        Ok(logged_in)
    }

    pub async fn register(&mut self, username: &str, password: &str) -> ApiResult<LoggedIn> {
        self.start_session("/api/users", username, password).await
    }

    pub async fn log_in(&mut self, username: &str, password: &str) -> ApiResult<LoggedIn> {
        self.start_session("/api/session", username, password).await
    }

    pub async fn log_out(&mut self) -> ApiResult<()> {
        self.call::<serde_json::Value>(Method::DELETE, "/api/session", None)
            .await?;
        self.csrf = None;
        Ok(())
    }

    /// The first page of the lobby.
    pub async fn rooms(&self) -> ApiResult<Vec<RoomInfo>> {
        Ok(self.rooms_page(1).await?.0)
    }

    /// A page of the lobby (from 1), and the next one's number if there are more rooms.
    pub async fn rooms_page(&self, page: u32) -> ApiResult<(Vec<RoomInfo>, Option<u32>)> {
        #[derive(Deserialize)]
        struct Rooms {
            rooms: Vec<RoomInfo>,
            #[serde(default)]
            next: Option<u32>,
        }
        let rooms: Rooms = self
            .expect(Method::GET, &format!("/api/rooms?page={page}"), None)
            .await?;
        Ok((rooms.rooms, rooms.next))
    }

    pub async fn create_room(&self, name: &str) -> ApiResult<RoomRef> {
        #[derive(Deserialize)]
        struct Created {
            room: RoomRef,
        }
        let created: Created = self
            .expect(Method::POST, "/api/rooms", Some(json!({ "name": name })))
            .await?;
        Ok(created.room)
    }

    pub async fn delete_room(&self, room: i32) -> ApiResult<()> {
        self.call::<serde_json::Value>(Method::DELETE, &format!("/api/rooms/{room}"), None)
            .await
            .map(drop)
    }

    pub async fn enter(&self, room: i32) -> ApiResult<Entered> {
        self.expect(Method::POST, &format!("/api/rooms/{room}/enter"), None)
            .await
    }

    pub async fn leave(&self, room: i32) -> ApiResult<()> {
        self.call::<serde_json::Value>(Method::POST, &format!("/api/rooms/{room}/leave"), None)
            .await
            .map(drop)
    }

    /// A poll of the room from `after`; with `people_tag`, the tag of the lists of people the
    /// caller shows, which the answer leaves out while they stay the same.
    pub async fn poll(
        &self,
        room: i32,
        after: i64,
        typing: bool,
        people_tag: Option<&str>,
    ) -> ApiResult<Poll> {
        let typing = if typing { "&typing=1" } else { "" };
        // The server's tags are hex digits: anything else is not sent back.
        let tag = people_tag
            .filter(|tag| tag.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(|tag| format!("&people_tag={tag}"))
            .unwrap_or_default();
        self.expect(
            Method::GET,
            &format!("/api/rooms/{room}/messages?after={after}{typing}{tag}"),
            None,
        )
        .await
    }

    /// How loud the room is for the user: "all", "mentions" or "nothing" (the server says
    /// what else is refused, and why).
    pub async fn set_level(&self, room: i32, level: &str) -> ApiResult<()> {
        self.call::<serde_json::Value>(
            Method::PUT,
            &format!("/api/rooms/{room}/notifications"),
            Some(json!({ "level": level })),
        )
        .await
        .map(drop)
    }

    /// Up to a page of the entries numbered below `before`, oldest first.
    pub async fn older(&self, room: i32, before: i64) -> ApiResult<Vec<Entry>> {
        #[derive(Deserialize)]
        struct History {
            messages: Vec<Entry>,
        }
        let history: History = self
            .expect(
                Method::GET,
                &format!("/api/rooms/{room}/messages?before={before}"),
                None,
            )
            .await?;
        Ok(history.messages)
    }

    /// Sends a message under the client's own name for it: a retry is never stored twice.
    pub async fn send(&self, room: i32, text: &str, client_id: &str) -> ApiResult<Entry> {
        let body = json!({ "text": text, "client_id": client_id });
        let sent: OneMessage = self
            .expect(
                Method::POST,
                &format!("/api/rooms/{room}/messages"),
                Some(body),
            )
            .await?;
        Ok(sent.message)
    }

    /// Sends a file to the room as a message of its own (without text); gives the message.
    pub async fn upload(&self, room: i32, file: &FileToSend<'_>) -> ApiResult<Entry> {
        let (content_type, body) = multipart_body(file);
        let request = self
            .request(Method::POST, &format!("/api/rooms/{room}/attachments"))?
            .timeout(upload_timeout(body.len()))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        let (_, sent) = Self::answer::<OneMessage>(request).await?;
        Ok(sent.ok_or(ApiError::Unreachable)?.message)
    }

    /// Where a path the server gave (an attachment's `url`) is, in full: on this server.
    pub fn absolute(&self, url: &str) -> String {
        self.base
            .join(url)
            .map_or_else(|_| format!("{}{url}", self.server()), String::from)
    }

    /// Replaces the text of message `n` (the user's own); gives the message as it now is.
    pub async fn edit(&self, room: i32, n: i64, text: &str) -> ApiResult<Entry> {
        let answer: OneMessage = self
            .expect(
                Method::PATCH,
                &format!("/api/rooms/{room}/messages/{n}"),
                Some(json!({ "text": text })),
            )
            .await?;
        Ok(answer.message)
    }

    /// Reacts to message `n`; gives the message as it now is, and whether the reaction is new
    /// (false: the user had already reacted so, and nothing changed).
    pub async fn react(&self, room: i32, n: i64, emoji: &str) -> ApiResult<(Entry, bool)> {
        let (status, answer) = self
            .call_for_status::<OneMessage>(
                Method::POST,
                &format!("/api/rooms/{room}/messages/{n}/reactions"),
                Some(json!({ "emoji": emoji })),
            )
            .await?;
        let answer = answer.ok_or(ApiError::Unreachable)?;
        Ok((answer.message, status == StatusCode::CREATED))
    }

    /// Takes the user's reaction off message `n` (done too when there was none).
    pub async fn unreact(&self, room: i32, n: i64, emoji: &str) -> ApiResult<()> {
        let emoji = path_segment(emoji);
        self.call::<serde_json::Value>(
            Method::DELETE,
            &format!("/api/rooms/{room}/messages/{n}/reactions/{emoji}"),
            None,
        )
        .await
        .map(drop)
    }

    /// The newest messages (a page) that `text` finds in every room the user may read.
    pub async fn search(&self, text: &str) -> ApiResult<Found> {
        let q = path_segment(text);
        self.expect(Method::GET, &format!("/api/search?q={q}"), None)
            .await
    }

    /// The login as it stands, to save.
    pub fn saved(&self, username: &str) -> Option<SavedSession> {
        let cookie = self.jar.cookies(&self.base)?.to_str().ok()?.to_owned();
        Some(SavedSession {
            server: self.server().to_owned(),
            username: username.to_owned(),
            cookie,
            csrf_token: self.csrf.clone()?,
        })
    }

    /// Takes up a saved login again.
    pub fn restore(&mut self, saved: &SavedSession) {
        for cookie in saved.cookie.split("; ") {
            self.jar
                .add_cookie_str(&format!("{cookie}; Path=/"), &self.base);
        }
        self.csrf = Some(saved.csrf_token.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_one_multipart_file_part_under_a_boundary_it_does_not_contain() {
        let bytes = b"--chatroom-\r\n\x00\xff binary";
        let file = FileToSend {
            name: "r\u{e9}sum\u{e9} \"v2\".pdf",
            bytes,
            client_id: "abc123",
        };
        let (content_type, body) = multipart_body(&file);
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let delimiter = format!("\r\n--{boundary}");
        let parts = body
            .windows(delimiter.len())
            .filter(|w| *w == delimiter.as_bytes());
        assert_eq!(
            parts.count(),
            2,
            "a delimiter after each part but the first"
        );
        assert!(body.starts_with(format!("--{boundary}\r\n").as_bytes()));
        assert!(body.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()));
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("name=\"client_id\"\r\n\r\nabc123\r\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "name=\"file\"; filename=\"r_sum_ _v2_.pdf\"; \
                 filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf\r\n"
            ),
            "{text}"
        );
        let start = body.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let file_start = body[start + 4..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + start
            + 8;
        assert_eq!(&body[file_start..file_start + bytes.len()], bytes);
    }

    #[test]
    fn a_reaction_is_one_segment_of_the_path_whatever_it_holds() {
        assert_eq!(path_segment("+1"), "%2B1");
        assert_eq!(path_segment("ship"), "ship");
        assert_eq!(path_segment("👍"), "%F0%9F%91%8D");
        assert_eq!(path_segment("a/b?c d"), "a%2Fb%3Fc%20d");
        assert_eq!(path_segment("x&room=1#y"), "x%26room%3D1%23y");
    }
}
