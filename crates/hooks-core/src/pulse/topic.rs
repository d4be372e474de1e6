//! AMQP topic matching, as RabbitMQ's topic exchanges do it: words separated by `.`, `*` matches one word and `#`
//! matches zero or more.

use crate::hook::Binding;

/// Whether routing key `key` matches topic pattern `pattern`.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    matches_words(&words(pattern), &words(key))
}

// RabbitMQ reads an empty routing key (or pattern) as no words at all, not as one empty word.
fn words(s: &str) -> Vec<&str> {
    if s.is_empty() { Vec::new() } else { s.split('.').collect() }
}

fn matches_words(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((&"#", rest)) => {
            // `#` swallows zero words, or one more and stays in place; consecutive `#`s act as one.
            if rest.first() == Some(&"#") {
                return matches_words(rest, key);
            }
            matches_words(rest, key) || (!key.is_empty() && matches_words(pattern, &key[1..]))
        }
        Some((word, rest)) => match key.split_first() {
            Some((k, key_rest)) => (*word == "*" || word == k) && matches_words(rest, key_rest),
            None => false,
        },
    }
}

/// Whether a message published to `exchange` with these routing keys (its routing key and any `CC` keys) is one
/// that `bindings` ask for.
pub fn bindings_match<'a>(bindings: &[Binding], exchange: &str, routing_keys: impl Iterator<Item = &'a str> + Clone) -> bool {
    bindings
        .iter()
        .filter(|b| b.exchange == exchange)
        .any(|b| routing_keys.clone().any(|key| topic_matches(&b.routing_key_pattern, key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_patterns_match_as_rabbitmq_does() {
        let cases = [
            ("a.b.c", "a.b.c", true),
            ("a.b.c", "a.b", false),
            ("a.*.c", "a.b.c", true),
            ("a.*.c", "a.b.b.c", false),
            ("a.*", "a", false),
            ("#", "", true),
            ("#", "a.b.c", true),
            ("a.#", "a", true),
            ("a.#", "a.b.c", true),
            ("a.#", "b.a", false),
            ("#.c", "a.b.c", true),
            ("#.c", "c", true),
            ("a.#.c", "a.c", true),
            ("a.#.c", "a.x.y.c", true),
            ("a.#.c", "a.x.y.d", false),
            ("*.#", "a", true),
            ("*.#", "", false),
            ("#.#", "a.b", true),
            ("*", "", false),
            ("", "", true),
            ("", "a", false),
            ("route.foo.*", "route.foo.bar", true),
        ];
        for (pattern, key, expected) in cases {
            assert_eq!(topic_matches(pattern, key), expected, "{pattern} vs {key:?}");
        }
    }

    #[test]
    fn bindings_match_on_the_exchange_and_any_routing_key() {
        let b = |e: &str, p: &str| Binding { exchange: e.into(), routing_key_pattern: p.into() };
        let bindings = [b("ex1", "a.*"), b("ex2", "route.#")];
        assert!(bindings_match(&bindings, "ex1", ["a.b"].into_iter()));
        assert!(!bindings_match(&bindings, "ex2", ["a.b"].into_iter()));
        assert!(bindings_match(&bindings, "ex2", ["primary.key", "route.x.y"].into_iter()));
        assert!(!bindings_match(&bindings, "ex3", ["a.b"].into_iter()));
    }
}
