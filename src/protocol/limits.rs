//! Every number the contract fixes, in one place.

use std::time::Duration;

/// The protocol version announced in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest client frame in bytes, newline included.
pub const MAX_CLIENT_FRAME_BYTES: usize = 65_536;
/// Largest server frame in bytes, newline included.
pub const MAX_SERVER_FRAME_BYTES: usize = 1 << 20;
/// Largest message text in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Longest user name in characters (all of them ASCII).
pub const MAX_NAME_CHARS: usize = 32;
/// Shortest accepted password in bytes.
pub const MIN_PASSWORD_BYTES: usize = 8;
/// Longest accepted password in bytes: bcrypt ignores anything past 72, so
/// longer passwords are refused rather than silently truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;
/// Names nobody may register, compared case-insensitively.
pub const RESERVED_NAMES: [&str; 6] = ["server", "system", "tchat", "admin", "root", "public"];

/// `history` page size when the request gives none.
pub const HISTORY_DEFAULT_LIMIT: u32 = 50;
/// Largest `history` page; larger requests are served this many.
pub const HISTORY_MAX_LIMIT: u32 = 200;

/// A connection that has not logged in within this time is closed.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection from which nothing arrived for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often an idle client pings.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);

/// Sustained frames per second per session.
pub const RATE_PER_SEC: u32 = 20;
/// Burst allowance on top of the sustained rate.
pub const RATE_BURST: u32 = 40;
/// A session flooding at more than this multiple of the rate is closed.
pub const FLOOD_FACTOR: u32 = 5;

/// Failed logins for one account that trigger a lockout.
pub const LOCKOUT_ACCOUNT_FAILURES: usize = 5;
/// Failed logins from one IP address that trigger a lockout.
pub const LOCKOUT_IP_FAILURES: usize = 20;
/// The window in which failures are counted.
pub const LOCKOUT_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long a lockout lasts.
pub const LOCKOUT_DURATION: Duration = Duration::from_secs(5 * 60);

/// Pending chat requests one user may have waiting in others' inboxes, and
/// that may wait in one user's inbox: so nobody can grow another user's
/// `welcome` past the frame limit.
pub const MAX_PENDING_REQUESTS: usize = 200;
/// Pending requests each way that `welcome` lists (the newest).
pub const MAX_LISTED_REQUESTS: usize = MAX_PENDING_REQUESTS;
/// Open private chats that `welcome` lists (the newest).
pub const MAX_LISTED_CHATS: usize = 1000;
/// Online users that `welcome` and `who` list (by name).
pub const MAX_LISTED_ONLINE: usize = 3000;

/// Longest group topic, and longest kick or ban reason, in bytes.
pub const MAX_TOPIC_BYTES: usize = 512;
/// Groups one user may own (§12).
pub const MAX_GROUPS_OWNED: usize = 50;
/// Groups one user may be a member of (§12).
pub const MAX_GROUPS_JOINED: usize = 500;
/// Members one group may have (§12).
pub const MAX_GROUP_MEMBERS: usize = 10_000;
/// Group invitations that may wait for one user: so that nobody can grow
/// another user's `welcome` without bound (as for chat requests).
pub const MAX_PENDING_INVITES: usize = 200;

/// Largest decoded chunk of a file, either way (§14).
pub const FILE_CHUNK_BYTES: usize = 32 * 1024;
/// Longest file name, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// How long an interrupted upload may be resumed.
pub const UPLOAD_RESUME_WINDOW: Duration = Duration::from_secs(24 * 3600);
