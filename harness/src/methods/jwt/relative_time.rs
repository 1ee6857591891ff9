//! Relative times in case files (`now`, `-1h`, `+30s`, `-leeway-1s`): how
//! a case says "expired an hour ago" or "just past the leeway" without a
//! date that would go stale.

/// Parses a relative time (`now`, `-1h`, `+30s`, `-leeway-1s`) into Unix seconds.
pub fn relative_time(spec: &str, now: i64, leeway: i64) -> Option<i64> {
    let spec = spec.trim();
    if spec == "now" {
        return Some(now);
    }
    let mut total = now;
    let mut rest = spec;
    while !rest.is_empty() {
        let sign = match rest.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        rest = &rest[1..];
        let end = rest.find(['+', '-']).unwrap_or(rest.len());
        let term = &rest[..end];
        rest = &rest[end..];
        let seconds = if term == "leeway" {
            leeway
        } else {
            let unit = term.chars().last()?;
            let n: i64 = term[..term.len() - 1].parse().ok()?;
            n * match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => return None,
            }
        };
        total += sign * seconds;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative_time("now", 1000, 5), Some(1000));
        assert_eq!(relative_time("-1h", 10_000, 5), Some(6400));
        assert_eq!(relative_time("-leeway-1s", 1000, 5), Some(994));
        assert_eq!(relative_time("+leeway+60s", 1000, 60), Some(1120));
        assert_eq!(relative_time("+2d", 0, 0), Some(172_800));
        assert_eq!(relative_time("tomorrow", 0, 0), None);
        assert_eq!(relative_time("-5y", 0, 0), None);
    }
}
