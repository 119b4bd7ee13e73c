//! Shapes of AWS identifiers the file names: regions, account ids, role ARNs, OU and root ids,
//! organization entity paths, session names, bcrypt hashes. Plain functions, shared by every
//! section's validation.

/// True for names shaped like AWS regions (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`).
pub fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && {
            let last = parts[parts.len() - 1];
            !last.is_empty() && last.len() <= 2 && last.bytes().all(|b| b.is_ascii_digit())
        }
}

/// True for a 12-digit AWS account id.
pub fn valid_account_id(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

/// The account id of an IAM role ARN, or `None` when `arn` is not one.
pub fn role_arn_account(arn: &str) -> Option<&str> {
    let mut it = arn.splitn(6, ':');
    let (arn_lit, partition, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    let ok = arn_lit == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && valid_account_id(account)
        && resource.starts_with("role/")
        && resource.len() > "role/".len();
    ok.then_some(account)
}

/// True for `ou-xxxx-xxxxxxxx` and `r-xxxx` ids.
pub fn valid_ou_or_root(s: &str) -> bool {
    let lower_alnum = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if let Some(r) = s.strip_prefix("r-") {
        return (4..=32).contains(&r.len()) && lower_alnum(r);
    }
    s.strip_prefix("ou-")
        .and_then(|x| x.split_once('-'))
        .is_some_and(|(a, b)| {
            (4..=32).contains(&a.len())
                && lower_alnum(a)
                && (8..=32).contains(&b.len())
                && lower_alnum(b)
        })
}

/// True for an organization entity path: `o-` id, `r-` root, then OUs and at most one account.
pub fn valid_entity_path(p: &str) -> bool {
    fn lower_alnum(s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }
    if p.len() < 19 || p.len() > 427 {
        return false;
    }
    let parts: Vec<&str> = p.trim_end_matches('/').split('/').collect();
    if parts.len() < 2 {
        return false;
    }
    let org_ok = parts[0]
        .strip_prefix("o-")
        .is_some_and(|s| (10..=32).contains(&s.len()) && lower_alnum(s));
    let root_ok = parts[1]
        .strip_prefix("r-")
        .is_some_and(|s| (4..=32).contains(&s.len()) && lower_alnum(s));
    let mut seen_account = false;
    let rest_ok = parts[2..].iter().all(|seg| {
        if seen_account {
            return false;
        }
        if valid_account_id(seg) {
            seen_account = true;
            return true;
        }
        seg.strip_prefix("ou-")
            .and_then(|s| s.split_once('-'))
            .is_some_and(|(a, b)| {
                (4..=32).contains(&a.len())
                    && lower_alnum(a)
                    && (8..=32).contains(&b.len())
                    && lower_alnum(b)
            })
    });
    org_ok && root_ok && rest_ok
}

/// True for an STS session name: 2 to 64 of letters, digits and `+=,.@_-`.
pub fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// True for an STS external id as AssumeRole's model shapes `externalIdType`: length 2 to 1224,
/// pattern `[\w+=,.@:\/-]*` (Java's `\w` is ASCII letters, digits and `_`). STS refuses any
/// other with a ValidationError, so every AssumeRole of the target would fail.
pub fn valid_external_id(s: &str) -> bool {
    (2..=1224).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
}

/// Checks a bcrypt-shaped string (used for basic auth hashes).
pub fn looks_like_bcrypt(h: &str) -> bool {
    (h.starts_with("$2a$") || h.starts_with("$2b$") || h.starts_with("$2y$")) && h.len() == 60
}
