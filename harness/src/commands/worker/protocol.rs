//! Locust's master/worker protocol, as Locust 2.x speaks it: each ZeroMQ
//! message is one msgpack array `[type, data, node_id]`, sent by the worker's
//! DEALER socket (whose routing identity is the node id) to the master's
//! ROUTER. Facts from Locust's `rpc/protocol.py` and `runners.py`; the code
//! is ours.

use rmpv::Value;

/// The `client_ready` payload that tells the master not to compare versions:
/// Locust masters accept `-1` from foreign workers without a version warning
/// (2.x, since 2.8 at least).
pub const NO_VERSION: i64 = -1;

/// One protocol message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `client_ready`, `heartbeat`, `spawn`, …
    pub kind: String,
    /// The payload (`nil`, a map, a string).
    pub data: Value,
    /// The worker's node id (also its ZeroMQ identity).
    pub node_id: String,
}

/// Why bytes are not a protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not msgpack.
    #[error("not msgpack: {0}")]
    Msgpack(String),
    /// msgpack, but not `[type, data, node_id]`.
    #[error("not a [type, data, node_id] array")]
    Shape,
}

impl Message {
    /// A message of `kind` from (or to) `node_id`.
    pub fn new(kind: &str, data: Value, node_id: &str) -> Message {
        Message { kind: kind.to_owned(), data, node_id: node_id.to_owned() }
    }

    /// The msgpack bytes.
    pub fn encode(&self) -> Vec<u8> {
        let value = Value::Array(vec![
            Value::from(self.kind.as_str()),
            self.data.clone(),
            Value::from(self.node_id.as_str()),
        ]);
        let mut out = Vec::with_capacity(64);
        // Writing into a Vec cannot fail.
        let _ = rmpv::encode::write_value(&mut out, &value);
        out
    }

    /// Parses msgpack bytes. Extra bytes after the array are an error, as
    /// Locust treats them.
    pub fn decode(mut bytes: &[u8]) -> Result<Message, DecodeError> {
        let value = rmpv::decode::read_value(&mut bytes)
            .map_err(|e| DecodeError::Msgpack(e.to_string()))?;
        if !bytes.is_empty() {
            return Err(DecodeError::Msgpack(format!("{} bytes after the message", bytes.len())));
        }
        let Value::Array(mut parts) = value else { return Err(DecodeError::Shape) };
        if parts.len() != 3 {
            return Err(DecodeError::Shape);
        }
        let node_id = parts.pop().unwrap_or(Value::Nil);
        let data = parts.pop().unwrap_or(Value::Nil);
        let kind = parts.pop().unwrap_or(Value::Nil);
        let (Some(kind), node_id) = (kind.as_str(), node_id.as_str().unwrap_or_default()) else {
            return Err(DecodeError::Shape);
        };
        Ok(Message { kind: kind.to_owned(), data, node_id: node_id.to_owned() })
    }
}

/// A map value from string keys.
pub fn map(entries: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
}

/// The member `key` of a map value.
pub fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

/// A number of any msgpack kind as f64 (Locust sends floats and ints alike).
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::F64(f) => Some(*f),
        Value::F32(f) => Some(f64::from(*f)),
        Value::Integer(i) => i.as_f64(),
        _ => None,
    }
}

/// What the master asks, parsed from the messages the worker acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum FromMaster {
    /// `ack`: the master registered this worker (with its index, when given).
    Ack(Option<i64>),
    /// `spawn`: run these users.
    Spawn(Spawn),
    /// `stop`: stop every user, then report ready again.
    Stop,
    /// `quit`: stop, flush the stats, exit.
    Quit,
    /// `heartbeat`: the master is alive.
    Heartbeat,
    /// `reconnect`: replace the connection.
    Reconnect,
    /// Anything else (new Locust messages, other tools' custom messages):
    /// ignored, never an error — that is what broke foreign workers before.
    Other(String),
}

/// A `spawn` message's job.
#[derive(Debug, Clone, PartialEq)]
pub struct Spawn {
    /// The master's send time; an older or equal one is a duplicate.
    pub timestamp: f64,
    /// Users wanted per user class, on this worker.
    pub user_classes_count: Vec<(String, u64)>,
    /// The master's parsed options (custom `--authbench-*` ones among them).
    pub options: Value,
}

impl FromMaster {
    /// Reads `message`; a malformed known message is reported as `Other`
    /// with the reason, so that it is logged and skipped.
    pub fn parse(message: &Message) -> FromMaster {
        match message.kind.as_str() {
            "ack" => FromMaster::Ack(get(&message.data, "index").and_then(|i| i.as_i64())),
            "spawn" => match parse_spawn(&message.data) {
                Some(spawn) => FromMaster::Spawn(spawn),
                None => FromMaster::Other("spawn (malformed: no user_classes_count)".to_owned()),
            },
            "stop" => FromMaster::Stop,
            "quit" => FromMaster::Quit,
            "heartbeat" => FromMaster::Heartbeat,
            "reconnect" => FromMaster::Reconnect,
            other => FromMaster::Other(other.to_owned()),
        }
    }
}

fn parse_spawn(data: &Value) -> Option<Spawn> {
    let counts = get(data, "user_classes_count")?.as_map()?;
    let user_classes_count = counts
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_u64().unwrap_or(0))))
        .collect();
    Some(Spawn {
        timestamp: get(data, "timestamp").and_then(number).unwrap_or(0.0),
        user_classes_count,
        options: get(data, "parsed_options").cloned().unwrap_or(Value::Nil),
    })
}

/// `client_ready`.
pub fn client_ready(node_id: &str) -> Message {
    Message::new("client_ready", Value::from(NO_VERSION), node_id)
}

/// `heartbeat`: state, CPU percent (the master fails without it) and memory.
pub fn heartbeat(node_id: &str, state: &str, cpu_percent: f64, memory_bytes: u64) -> Message {
    Message::new(
        "heartbeat",
        map([
            ("state", Value::from(state)),
            ("current_cpu_usage", Value::from(cpu_percent)),
            ("current_memory_usage", Value::from(memory_bytes)),
        ]),
        node_id,
    )
}

/// The user counts as Locust's `user_classes_count` map.
pub fn counts_value(counts: &[(String, u64)]) -> Value {
    Value::Map(counts.iter().map(|(k, v)| (Value::from(k.as_str()), Value::from(*v))).collect())
}

/// `spawning_complete`.
pub fn spawning_complete(node_id: &str, counts: &[(String, u64)]) -> Message {
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    Message::new(
        "spawning_complete",
        map([("user_classes_count", counts_value(counts)), ("user_count", Value::from(total))]),
        node_id,
    )
}

/// `exception`: something the master should show (and count).
pub fn exception(node_id: &str, message: &str) -> Message {
    Message::new(
        "exception",
        map([("msg", Value::from(message)), ("traceback", Value::from(""))]),
        node_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_three_element_arrays() {
        let m = heartbeat("host_abc", "running", 12.5, 1024);
        let bytes = m.encode();
        // fixarray of 3, then the type string.
        assert_eq!(bytes[0], 0x93);
        assert_eq!(Message::decode(&bytes).unwrap(), m);
        assert!(Message::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut extra = bytes.clone();
        extra.push(0xc0);
        assert!(Message::decode(&extra).is_err());
        let not_array = {
            let mut out = Vec::new();
            rmpv::encode::write_value(&mut out, &Value::from("x")).unwrap();
            out
        };
        assert_eq!(Message::decode(&not_array), Err(DecodeError::Shape));
    }

    #[test]
    fn master_messages_are_read_and_unknown_ones_kept_apart() {
        let spawn = Message::new(
            "spawn",
            map([
                ("timestamp", Value::from(1700000000.5)),
                ("user_classes_count", Value::Map(vec![(Value::from("api_key"), Value::from(3))])),
                ("host", Value::Nil),
                ("stop_timeout", Value::Nil),
                ("parsed_options", map([("authbench_rate", Value::from(20.0))])),
            ]),
            "w1",
        );
        let FromMaster::Spawn(job) = FromMaster::parse(&spawn) else { panic!() };
        assert_eq!(job.user_classes_count, [("api_key".to_owned(), 3)]);
        assert_eq!(job.timestamp, 1700000000.5);
        assert_eq!(get(&job.options, "authbench_rate").and_then(number), Some(20.0));
        let ack = Message::new("ack", map([("index", Value::from(2))]), "w1");
        assert_eq!(FromMaster::parse(&ack), FromMaster::Ack(Some(2)));
        assert_eq!(
            FromMaster::parse(&Message::new("ack", Value::Nil, "w1")),
            FromMaster::Ack(None)
        );
        let unknown = Message::new("update_user_class", Value::Nil, "w1");
        assert_eq!(FromMaster::parse(&unknown), FromMaster::Other("update_user_class".into()));
        let broken = Message::new("spawn", Value::Nil, "w1");
        assert!(matches!(FromMaster::parse(&broken), FromMaster::Other(_)));
    }
}
