//! The compact text forms of entries and messages, printed and parsed alike, and the parsing
//! of command lines.

use raft::{Body, Entry, Index, Membership, Message, NodeId, Payload, Term};

/// `4/2:noop`, `5/2:x`, `6/2:conf{v=3,4,5;old=1,2,3;l=6}` (index/term:payload).
pub fn entry(e: &Entry) -> String {
    match &e.payload {
        Payload::Noop => format!("{}/{}:noop", e.index, e.term),
        Payload::Command(c) => format!("{}/{}:{}", e.index, e.term, String::from_utf8_lossy(c)),
        Payload::Config(m) => format!("{}/{}:{}", e.index, e.term, membership(m)),
    }
}

/// `conf{v=1,2,3}`, with `;old=...` in joint consensus and `;l=...` for learners.
pub fn membership(m: &Membership) -> String {
    let ids = |v: &[NodeId]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let mut s = format!("conf{{v={}", ids(&m.voters));
    if !m.voters_outgoing.is_empty() {
        s += &format!(";old={}", ids(&m.voters_outgoing));
    }
    if !m.learners.is_empty() {
        s += &format!(";l={}", ids(&m.learners));
    }
    s + "}"
}

/// Parses what [`membership`] prints.
pub fn parse_membership(s: &str) -> Result<Membership, String> {
    let inner = s
        .strip_prefix("conf{")
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(|| format!("expected conf{{v=...}}, got {s:?}"))?;
    let mut m = Membership::default();
    for part in inner.split(';') {
        let (name, list) = part
            .split_once('=')
            .ok_or_else(|| format!("expected name=ids in {s:?}"))?;
        let ids = list
            .split(',')
            .filter(|x| !x.is_empty())
            .map(parse_u64)
            .collect::<Result<Vec<_>, _>>()?;
        match name {
            "v" => m.voters = ids,
            "old" => m.voters_outgoing = ids,
            "l" => m.learners = ids,
            other => return Err(format!("unknown list {other:?} in {s:?}")),
        }
    }
    Ok(m)
}

/// `[4/2:noop 5/2:x]`.
pub fn entries(es: &[Entry]) -> String {
    let parts: Vec<String> = es.iter().map(entry).collect();
    format!("[{}]", parts.join(" "))
}

/// `1->2 AppendEntries term=2 prev=3/1 commit=3 entries=[4/2:noop]`.
pub fn message(m: &Message) -> String {
    let body = match &m.body {
        Body::RequestVote {
            last_log_index,
            last_log_term,
        } => format!("last={last_log_index}/{last_log_term}"),
        Body::RequestVoteResponse { granted } => {
            if *granted {
                "granted".to_string()
            } else {
                "rejected".to_string()
            }
        }
        Body::AppendEntries {
            prev_log_index,
            prev_log_term,
            entries: es,
            leader_commit,
        } => format!(
            "prev={prev_log_index}/{prev_log_term} commit={leader_commit} entries={}",
            entries(es)
        ),
        Body::InstallSnapshot {
            last_included_index,
            last_included_term,
            membership: m,
            size_bytes,
            offset,
            data,
        } => format!(
            "last={last_included_index}/{last_included_term} conf={} bytes={offset}..{}/{size_bytes}",
            membership(m),
            offset + data.len() as u64
        ),
        Body::InstallSnapshotResponse {
            last_included_index,
            offset_next,
        } => format!("last={last_included_index} offset={offset_next}"),
        Body::AppendEntriesResponse {
            success: true,
            match_index,
            ..
        } => format!("success match={match_index}"),
        Body::AppendEntriesResponse {
            success: false,
            match_index,
            conflict_index,
            conflict_term,
        } => match conflict_term {
            Some(t) => format!("reject index={match_index} hint={conflict_index}/{t}"),
            None => format!("reject index={match_index} hint={conflict_index}"),
        },
    };
    format!(
        "{}->{} {} term={} {}",
        m.from,
        m.to,
        m.body.kind(),
        m.term,
        body
    )
}

/// Parses `I/T`, `I/T:noop` or `I/T:data`. A bare `I/T` carries the command `iI`.
pub fn parse_entry(s: &str) -> Result<Entry, String> {
    let (position, payload) = match s.split_once(':') {
        Some((p, "noop")) => (p, Payload::Noop),
        Some((p, conf)) if conf.starts_with("conf{") => {
            (p, Payload::Config(Box::new(parse_membership(conf)?)))
        }
        Some((p, data)) => (p, Payload::Command(data.as_bytes().into())),
        None => (
            s,
            Payload::Command(
                format!("i{}", s.split('/').next().unwrap_or(""))
                    .as_bytes()
                    .into(),
            ),
        ),
    };
    let (index, term) = parse_index_term(position)?;
    Ok(Entry {
        term,
        index,
        payload,
    })
}

/// Parses `I/T`.
pub fn parse_index_term(s: &str) -> Result<(Index, Term), String> {
    let (i, t) = s
        .split_once('/')
        .ok_or_else(|| format!("expected index/term, got {s:?}"))?;
    Ok((parse_u64(i)?, parse_u64(t)?))
}

pub fn parse_u64(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("expected a number, got {s:?}"))
}

/// Parses `150ms`, `1s`, `20us`, `7ns` into nanoseconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("duration {s:?} needs a unit (ns, us, ms, s)"))?;
    let (n, unit) = s.split_at(split);
    let n = parse_u64(n)?;
    let scale = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => return Err(format!("unknown duration unit in {s:?}")),
    };
    Ok(n * scale)
}

/// Splits `(a b c)`, `[a, b]` or a bare `a` into items.
pub fn parse_list(s: &str) -> Vec<String> {
    let inner = s
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .or_else(|| s.strip_prefix('[').and_then(|r| r.strip_suffix(']')))
        .unwrap_or(s);
    // Separators inside braces (a configuration's id lists) do not split.
    let mut items = Vec::new();
    let (mut item, mut depth) = (String::new(), 0usize);
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 && (c.is_whitespace() || c == ',') {
            items.extend((!item.is_empty()).then(|| std::mem::take(&mut item)));
        } else {
            item.push(c);
        }
    }
    items.extend((!item.is_empty()).then_some(item));
    items
}

/// A parsed command line: a name, positional arguments and `key=value` arguments, where a value
/// may be a bracketed list with spaces. Every argument must be used, so that a typo fails.
#[derive(Debug)]
pub struct Command {
    pub name: String,
    positional: Vec<(String, bool)>,
    keyed: Vec<(String, String, bool)>,
}

impl Command {
    pub fn parse(line: &str) -> Result<Command, String> {
        let mut tokens = Vec::new();
        let mut current = String::new();
        let mut depth = 0i32;
        for c in line.chars() {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                _ => {}
            }
            if c.is_whitespace() && depth == 0 {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            } else {
                current.push(c);
            }
        }
        if depth != 0 {
            return Err(format!("unbalanced brackets in {line:?}"));
        }
        if !current.is_empty() {
            tokens.push(current);
        }
        let mut tokens = tokens.into_iter();
        let name = tokens.next().ok_or("empty command")?;
        let mut positional = Vec::new();
        let mut keyed = Vec::new();
        for token in tokens {
            let bracket = token.find(['(', '[']).unwrap_or(token.len());
            match token[..bracket].split_once('=') {
                Some((k, _)) => {
                    let v = token[k.len() + 1..].to_string();
                    keyed.push((k.to_string(), v, false));
                }
                None => positional.push((token, false)),
            }
        }
        Ok(Command {
            name,
            positional,
            keyed,
        })
    }

    /// The value of `key`, if given.
    pub fn opt(&mut self, key: &str) -> Option<String> {
        self.keyed
            .iter_mut()
            .find(|(k, ..)| k == key)
            .map(|(_, v, used)| {
                *used = true;
                v.clone()
            })
    }

    pub fn req(&mut self, key: &str) -> Result<String, String> {
        self.opt(key)
            .ok_or_else(|| format!("{}: missing {key}=", self.name))
    }

    pub fn opt_u64(&mut self, key: &str) -> Result<Option<u64>, String> {
        self.opt(key).map(|v| parse_u64(&v)).transpose()
    }

    pub fn req_u64(&mut self, key: &str) -> Result<u64, String> {
        parse_u64(&self.req(key)?)
    }

    pub fn opt_ids(&mut self, key: &str) -> Result<Option<Vec<u64>>, String> {
        self.opt(key)
            .map(|v| parse_list(&v).iter().map(|s| parse_u64(s)).collect())
            .transpose()
    }

    /// The next unused positional argument.
    pub fn pos(&mut self) -> Option<String> {
        self.positional
            .iter_mut()
            .find(|(_, used)| !*used)
            .map(|(v, used)| {
                *used = true;
                v.clone()
            })
    }

    pub fn pos_u64(&mut self) -> Result<u64, String> {
        let v = self
            .pos()
            .ok_or_else(|| format!("{}: missing a node id", self.name))?;
        parse_u64(&v)
    }

    /// Fails if an argument was not used: it is a typo or does not apply.
    pub fn done(&self) -> Result<(), String> {
        let unused: Vec<String> = self
            .positional
            .iter()
            .filter(|(_, used)| !used)
            .map(|(v, _)| v.clone())
            .chain(
                self.keyed
                    .iter()
                    .filter(|(.., used)| !used)
                    .map(|(k, v, _)| format!("{k}={v}")),
            )
            .collect();
        if unused.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: unused arguments {unused:?}", self.name))
        }
    }
}
