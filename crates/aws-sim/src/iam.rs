//! IAM Organizations access reports in the awsQuery protocol: GenerateOrganizationsAccessReport
//! and GetOrganizationsAccessReport.
//!
//! A report is an asynchronous job, and the point of simulating it is to exercise the exporter's
//! state machine, so progress is counted in polls, not in time: a job answers `IN_PROGRESS` to its
//! first [`Options::polls_in_progress`] reads and is finished from then on, which makes a test's
//! tick count exact and free of sleeps. Some jobs fail with `ErrorDetails`; completed reports list
//! services accessed and never accessed and span several pages, because IAM hands out at most
//! [`Options::page_size`] items a page whatever `MaxItems` asks (IAM documents that it may return
//! fewer items than asked while `IsTruncated` is true).
//!
//! A report's content is a pure function of the seed, the entity path and the job's sequence
//! number, so a test computes what the exporter must show with [`report`]. Validation follows
//! the service model: constraint violations (EntityPath length and pattern, MaxItems 1-1000,
//! JobId length, SortKey enum) are `ValidationError`, an entity path outside this organization is
//! `InvalidInput`, an unknown job `NoSuchEntity` (404), too many jobs in progress for the account
//! `ReportGenerationLimitExceeded` (409).

use http::StatusCode;

use crate::call::{Answer, Call};
use crate::wire::{
    fnv, iso8601, next_token, parse_token, query_ok, valid_account_id, xml_escape, AwsError,
};
use crate::world::World;

pub use crate::world::iam::{Job, Options, State};
pub use crate::world::root_id;

const XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The entity path of the organization root, e.g. `o-0123456789/r-ab12`: what the demo and the
/// tests configure.
pub fn root_entity_path(world: &World) -> String {
    format!("{}/{}", world.org_id, root_id(world.opts.seed))
}

/// The entity path of a (generated) organizational unit under the root.
pub fn ou_entity_path(world: &World, i: usize) -> String {
    let root = root_id(world.opts.seed);
    let suffix = root.trim_start_matches("r-");
    let ou = fnv(&format!("ou{}|{i}", world.opts.seed)) & 0xffff_ffff;
    format!("{}/ou-{suffix}-{ou:08x}", root_entity_path(world))
}

/// Known service namespaces and names, the report's catalogue.
const CATALOGUE: &[(&str, &str)] = &[
    ("access-analyzer", "IAM Access Analyzer"),
    ("acm", "AWS Certificate Manager"),
    ("apigateway", "Amazon API Gateway"),
    ("athena", "Amazon Athena"),
    ("autoscaling", "Amazon EC2 Auto Scaling"),
    ("backup", "AWS Backup"),
    ("batch", "AWS Batch"),
    ("cloudformation", "AWS CloudFormation"),
    ("cloudfront", "Amazon CloudFront"),
    ("cloudtrail", "AWS CloudTrail"),
    ("cloudwatch", "Amazon CloudWatch"),
    ("codebuild", "AWS CodeBuild"),
    ("codecommit", "AWS CodeCommit"),
    ("codepipeline", "AWS CodePipeline"),
    ("cognito-idp", "Amazon Cognito User Pools"),
    ("config", "AWS Config"),
    ("dynamodb", "Amazon DynamoDB"),
    ("ec2", "Amazon EC2"),
    ("ecr", "Amazon Elastic Container Registry"),
    ("ecs", "Amazon Elastic Container Service"),
    ("eks", "Amazon Elastic Kubernetes Service"),
    ("elasticache", "Amazon ElastiCache"),
    ("elasticfilesystem", "Amazon Elastic File System"),
    ("elasticloadbalancing", "Elastic Load Balancing"),
    ("es", "Amazon OpenSearch Service"),
    ("events", "Amazon EventBridge"),
    ("firehose", "Amazon Data Firehose"),
    ("glue", "AWS Glue"),
    ("guardduty", "Amazon GuardDuty"),
    ("iam", "AWS Identity and Access Management"),
    ("inspector2", "Amazon Inspector"),
    ("kinesis", "Amazon Kinesis"),
    ("kms", "AWS Key Management Service"),
    ("lambda", "AWS Lambda"),
    ("logs", "Amazon CloudWatch Logs"),
    ("macie2", "Amazon Macie"),
    ("organizations", "AWS Organizations"),
    ("rds", "Amazon RDS"),
    ("redshift", "Amazon Redshift"),
    ("route53", "Amazon Route 53"),
    ("s3", "Amazon S3"),
    ("sagemaker", "Amazon SageMaker"),
    ("secretsmanager", "AWS Secrets Manager"),
    ("securityhub", "AWS Security Hub"),
    ("ses", "Amazon SES"),
    ("sns", "Amazon SNS"),
    ("sqs", "Amazon SQS"),
    ("ssm", "AWS Systems Manager"),
    ("sso", "AWS IAM Identity Center"),
    ("states", "AWS Step Functions"),
    ("sts", "AWS Security Token Service"),
    ("support", "AWS Support"),
    ("tag", "Amazon Resource Group Tagging API"),
    ("transfer", "AWS Transfer Family"),
    ("trustedadvisor", "AWS Trusted Advisor"),
    ("waf", "AWS WAF"),
    ("wafv2", "AWS WAF V2"),
    ("workspaces", "Amazon WorkSpaces"),
    ("xray", "AWS X-Ray"),
    ("zocalo", "Amazon WorkDocs"),
];

/// One row of a completed report.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// Service name.
    pub name: String,
    /// Service namespace (`s3`).
    pub namespace: String,
    /// Region of the last access (accessed services only).
    pub region: Option<String>,
    /// Entity path of the last access (accessed services only).
    pub entity_path: Option<String>,
    /// Unix seconds of the last access (whole seconds; accessed services only).
    pub last_authenticated: Option<f64>,
    /// Principals that accessed it (accessed services only).
    pub entities: Option<i64>,
}

/// The rows of a job's completed report, sorted by namespace: a pure function of the seed, the
/// entity path and the job's sequence number (so a new report differs from the previous one).
pub fn report(world: &World, job: &Job) -> Vec<Service> {
    let seed = world.opts.seed;
    let n = world.opts.iam.services.min(CATALOGUE.len());
    CATALOGUE[..n]
        .iter()
        .map(|(ns, name)| {
            let h = fnv(&format!("{seed}|{}|{ns}", job.entity_path));
            let mut s = Service {
                name: name.to_string(),
                namespace: ns.to_string(),
                region: None,
                entity_path: None,
                last_authenticated: None,
                entities: None,
            };
            if h % 10 < 6 {
                let regions = &world.opts.regions;
                s.region = regions
                    .get((h >> 4) as usize % regions.len().max(1))
                    .cloned();
                let under_account = job
                    .entity_path
                    .rsplit('/')
                    .next()
                    .is_some_and(valid_account_id);
                s.entity_path = Some(if under_account || world.accounts.is_empty() {
                    job.entity_path.clone()
                } else {
                    let a = &world.accounts[(h >> 12) as usize % world.accounts.len()];
                    format!("{}/{}", job.entity_path, a.id)
                });
                s.last_authenticated =
                    Some((job.created() - ((h >> 20) % (90 * 86_400)) as f64).floor());
                s.entities = Some(1 + ((h >> 40) + job.seq) as i64 % 50);
            }
            s
        })
        .collect()
}

/// Handles one call.
pub fn handle(world: &mut World, call: &Call) -> Answer {
    match call.op.as_str() {
        "GenerateOrganizationsAccessReport" => generate(world, call),
        "GetOrganizationsAccessReport" => get(world, call),
        other => Err(AwsError::client(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

fn validation(field: &str, value: &str, constraint: &str) -> AwsError {
    AwsError::client(
        "ValidationError",
        format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ),
    )
}

/// The model's `organizationsEntityPathType`: length 19-427 (checked apart) and
/// `^o-[0-9a-z]{10,32}\/r-[0-9a-z]{4,32}[0-9a-z-\/]*`, matched whole as AWS validates patterns.
fn entity_path_matches(p: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_digit() || b.is_ascii_lowercase();
    let Some((org, rest)) = p.split_once('/') else {
        return false;
    };
    let org_ok = org
        .strip_prefix("o-")
        .is_some_and(|s| (10..=32).contains(&s.len()) && s.bytes().all(alnum));
    let Some(root) = rest.strip_prefix("r-") else {
        return false;
    };
    let root_ok = root.bytes().take_while(|b| alnum(*b)).count() >= 4
        && root.bytes().all(|b| alnum(b) || b == b'-' || b == b'/');
    org_ok && root_ok
}

/// Checks that a well-formed path names this organization: its id, its root, OUs under that
/// root and at most one account, last, that is a member.
fn check_in_organization(world: &World, p: &str) -> Result<(), AwsError> {
    let bad = |why: &str| {
        AwsError::client(
            "InvalidInput",
            format!("The entity path {p} is not valid for this organization: {why}."),
        )
    };
    let parts: Vec<&str> = p.trim_end_matches('/').split('/').collect();
    let root = root_id(world.opts.seed);
    if parts.first() != Some(&world.org_id.as_str()) {
        return Err(bad("unknown organization id"));
    }
    if parts.get(1) != Some(&root.as_str()) {
        return Err(bad("unknown root id"));
    }
    let ou_prefix = format!("ou-{}-", root.trim_start_matches("r-"));
    let rest = parts.get(2..).unwrap_or_default();
    for (i, seg) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        if valid_account_id(seg) {
            if !last {
                return Err(bad("an account must be the last element"));
            }
            if world.account(seg).is_none() {
                return Err(bad("the account is not a member"));
            }
        } else if !seg.strip_prefix(&ou_prefix).is_some_and(|id| {
            (8..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        }) {
            return Err(bad("unknown organizational unit"));
        }
    }
    Ok(())
}

fn job_id(seed: u64, seq: u64) -> String {
    let a = fnv(&format!("job{seed}|{seq}"));
    let b = fnv(&format!("job{seq}|{seed}"));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn generate(world: &mut World, call: &Call) -> Answer {
    let path = call.param("EntityPath").unwrap_or_default();
    if path.len() < 19 || path.len() > 427 {
        return Err(validation(
            "entityPath",
            path,
            "Member must have length between 19 and 427",
        ));
    }
    if !entity_path_matches(path) {
        return Err(validation(
            "entityPath",
            path,
            "Member must satisfy regular expression pattern: ^o-[0-9a-z]{10,32}\\/r-[0-9a-z]{4,32}[0-9a-z-\\/]*",
        ));
    }
    if let Some(p) = call.param("OrganizationsPolicyId") {
        let ok = p.strip_prefix("p-").is_some_and(|s| {
            (8..=128).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        if !ok {
            return Err(validation(
                "organizationsPolicyId",
                p,
                "Member must satisfy regular expression pattern: ^p-[0-9a-zA-Z_]{8,128}$",
            ));
        }
    }
    check_in_organization(world, path)?;
    let opts = &world.opts.iam;
    let running = world
        .iam
        .jobs
        .values()
        .filter(|j| j.account == call.account && j.polls < opts.polls_in_progress)
        .count();
    if running >= opts.max_jobs_in_progress {
        return Err(AwsError::status(
            StatusCode::CONFLICT,
            "ReportGenerationLimitExceeded",
            "The request failed because the maximum number of concurrent requests for this account are already running.",
        ));
    }
    let st = &mut world.iam;
    st.seq += 1;
    let seq = st.seq;
    let mut fails =
        (opts.fail_every > 0 && seq % opts.fail_every == 0) || opts.fail_jobs.contains(&seq);
    if st.fail_next > 0 {
        st.fail_next -= 1;
        fails = true;
    }
    let id = job_id(world.opts.seed, seq);
    st.jobs.insert(
        id.clone(),
        Job {
            id: id.clone(),
            seq,
            entity_path: path.to_string(),
            account: call.account.clone(),
            polls: 0,
            fails,
        },
    );
    Ok(query_ok(
        XMLNS,
        "GenerateOrganizationsAccessReport",
        &format!("    <JobId>{id}</JobId>\n"),
    ))
}

fn get(world: &mut World, call: &Call) -> Answer {
    let id = call.param("JobId").unwrap_or_default();
    if id.len() != 36 {
        return Err(validation(
            "jobId",
            id,
            "Member must have length between 36 and 36",
        ));
    }
    let max_items = match call.param("MaxItems") {
        None => 100,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => n as usize,
            _ => {
                return Err(validation(
                    "maxItems",
                    v,
                    "Member must have value between 1 and 1000",
                ))
            }
        },
    };
    let sort = call
        .param("SortKey")
        .unwrap_or("SERVICE_NAMESPACE_ASCENDING");
    if !matches!(
        sort,
        "SERVICE_NAMESPACE_ASCENDING"
            | "SERVICE_NAMESPACE_DESCENDING"
            | "LAST_AUTHENTICATED_TIME_ASCENDING"
            | "LAST_AUTHENTICATED_TIME_DESCENDING"
    ) {
        return Err(validation(
            "sortKey",
            sort,
            "Member must satisfy enum value set: [SERVICE_NAMESPACE_ASCENDING, SERVICE_NAMESPACE_DESCENDING, LAST_AUTHENTICATED_TIME_ASCENDING, LAST_AUTHENTICATED_TIME_DESCENDING]",
        ));
    }
    let scope = format!("{id}|{sort}");
    let offset = match call.param("Marker") {
        None => 0,
        Some(m) => parse_token(&scope, m)
            .ok_or_else(|| AwsError::client("InvalidInput", "Invalid Marker."))?,
    };
    let polls_in_progress = world.opts.iam.polls_in_progress;
    let job = match world.iam.jobs.get_mut(id) {
        Some(j) if j.account == call.account => j,
        _ => {
            return Err(AwsError::status(
                StatusCode::NOT_FOUND,
                "NoSuchEntity",
                format!("No report found for JobId {id}."),
            ))
        }
    };
    let in_progress = job.polls < polls_in_progress;
    job.polls = job.polls.saturating_add(1);
    let job = job.clone();
    let mut x = String::new();
    let field = |x: &mut String, k: &str, v: &str| {
        x.push_str(&format!("    <{k}>{}</{k}>\n", xml_escape(v)));
    };
    if in_progress {
        field(&mut x, "JobStatus", "IN_PROGRESS");
        field(&mut x, "JobCreationDate", &iso8601(job.created()));
        field(&mut x, "IsTruncated", "false");
    } else if job.fails {
        field(&mut x, "JobStatus", "FAILED");
        field(&mut x, "JobCreationDate", &iso8601(job.created()));
        field(&mut x, "JobCompletionDate", &iso8601(job.completed()));
        x.push_str(
            "    <ErrorDetails>\n      <Message>The report could not be generated because the organization's service data was unavailable. Try again later.</Message>\n      <Code>ServiceDataUnavailable</Code>\n    </ErrorDetails>\n",
        );
        field(&mut x, "IsTruncated", "false");
    } else {
        let mut rows = report(world, &job);
        match sort {
            "SERVICE_NAMESPACE_DESCENDING" => rows.reverse(),
            "LAST_AUTHENTICATED_TIME_ASCENDING" => rows.sort_by(|a, b| {
                a.last_authenticated
                    .partial_cmp(&b.last_authenticated)
                    .unwrap_or(std::cmp::Ordering::Equal)
            }),
            "LAST_AUTHENTICATED_TIME_DESCENDING" => rows.sort_by(|a, b| {
                b.last_authenticated
                    .partial_cmp(&a.last_authenticated)
                    .unwrap_or(std::cmp::Ordering::Equal)
            }),
            _ => {}
        }
        let not_accessed = rows
            .iter()
            .filter(|r| r.last_authenticated.is_none())
            .count();
        field(&mut x, "JobStatus", "COMPLETED");
        field(&mut x, "JobCreationDate", &iso8601(job.created()));
        field(&mut x, "JobCompletionDate", &iso8601(job.completed()));
        field(
            &mut x,
            "NumberOfServicesAccessible",
            &rows.len().to_string(),
        );
        field(
            &mut x,
            "NumberOfServicesNotAccessed",
            &not_accessed.to_string(),
        );
        let take = max_items.min(world.opts.iam.page_size.max(1));
        x.push_str("    <AccessDetails>\n");
        for r in rows.iter().skip(offset).take(take) {
            x.push_str("      <member>\n");
            let f = |x: &mut String, k: &str, v: &str| {
                x.push_str(&format!("        <{k}>{}</{k}>\n", xml_escape(v)));
            };
            f(&mut x, "ServiceName", &r.name);
            f(&mut x, "ServiceNamespace", &r.namespace);
            if let Some(v) = &r.region {
                f(&mut x, "Region", v);
            }
            if let Some(v) = &r.entity_path {
                f(&mut x, "EntityPath", v);
            }
            if let Some(v) = r.last_authenticated {
                f(&mut x, "LastAuthenticatedTime", &iso8601(v));
            }
            if let Some(v) = r.entities {
                f(&mut x, "TotalAuthenticatedEntities", &v.to_string());
            }
            x.push_str("      </member>\n");
        }
        x.push_str("    </AccessDetails>\n");
        let next = offset + take;
        if next < rows.len() {
            field(&mut x, "IsTruncated", "true");
            field(&mut x, "Marker", &next_token(&scope, next));
        } else {
            field(&mut x, "IsTruncated", "false");
        }
    }
    Ok(query_ok(XMLNS, "GetOrganizationsAccessReport", &x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldOptions;

    #[test]
    fn entity_paths_follow_the_model_pattern() {
        assert!(entity_path_matches("o-a1b2c3d4e5/r-f6g7"));
        assert!(entity_path_matches("o-a1b2c3d4e5/r-f6g7/ou-f6g7-h8i9j0k1"));
        assert!(
            !entity_path_matches("o-a1b2c3d4e/r-f6g7"),
            "org id too short"
        );
        assert!(!entity_path_matches("o-a1b2c3d4e5/r-f6g"), "root too short");
        assert!(!entity_path_matches("o-A1B2C3D4E5/r-f6g7"), "upper case");
        assert!(!entity_path_matches("a1b2c3d4e5/r-f6g7xx"));
        assert!(
            !entity_path_matches("o-a1b2c3d4e5/r-f6g7/ou_x"),
            "outside the class"
        );
    }

    #[test]
    fn helpers_give_paths_of_this_organization() {
        let w = World::new(WorldOptions::default());
        // What GenerateOrganizationsAccessReport takes: the model's length and pattern.
        let well_formed = |p: &str| (19..=427).contains(&p.len()) && entity_path_matches(p);
        let root = root_entity_path(&w);
        assert!(well_formed(&root), "{root}");
        assert!(check_in_organization(&w, &root).is_ok());
        let ou = ou_entity_path(&w, 3);
        assert!(well_formed(&ou), "{ou}");
        assert!(check_in_organization(&w, &ou).is_ok());
        let acct = format!("{ou}/{}", w.accounts[2].id);
        assert!(check_in_organization(&w, &acct).is_ok());
        assert!(check_in_organization(&w, &format!("{root}/999999999999")).is_err());
        assert!(check_in_organization(&w, "o-zzzzzzzzzz/r-abcd").is_err());
    }

    #[test]
    fn reports_mix_accessed_and_never_accessed_services_and_change_per_job() {
        let w = World::new(WorldOptions::default());
        let job = |seq| Job {
            id: job_id(7, seq),
            seq,
            entity_path: root_entity_path(&w),
            account: w.management().id.clone(),
            polls: 0,
            fails: false,
        };
        let a = report(&w, &job(1));
        let b = report(&w, &job(2));
        assert_eq!(a.len(), 45);
        let accessed = a.iter().filter(|s| s.last_authenticated.is_some()).count();
        assert!(accessed > 5 && accessed < 40, "{accessed}");
        assert!(a
            .iter()
            .all(|s| s.last_authenticated.is_some() == s.entities.is_some()));
        assert_ne!(a, b);
        assert_eq!(job_id(7, 1).len(), 36);
        assert!(
            CATALOGUE.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted by namespace"
        );
        assert_ne!(job_id(7, 1), job_id(7, 2));
    }
}
