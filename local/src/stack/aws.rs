//! The AWS side of the stack as the template declares it: moto with the template's
//! resources behind the IAM gateway, and the local Textract and SES v2 servers, each
//! holding callers to their roles' policies.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use super::process::Service;
use super::{Options, STACK_NAME, moto};
use crate::account::local_sdk_config;
use crate::iam::{self, Gateway, Principals};
use crate::mailbox::SesServer;
use crate::template::Deployment;
use crate::textract::{TextractConfig, TextractServer};
use crate::venv::Venv;

/// The services the functions reach through `AWS_ENDPOINT_URL_*`, and what they serve.
pub struct Aws {
    pub deployment: Deployment,
    /// IAM in front of moto, on the port clients know as moto's.
    pub gateway: Gateway,
    pub textract: TextractServer,
    pub ses: SesServer,
    /// moto itself, for the stack's own (admin) calls and for tests of private stacks.
    pub moto_url: String,
    /// `AWS_ENDPOINT_URL_<SERVICE>` for S3, SQS, Secrets Manager, EventBridge, Textract, SES v2.
    pub endpoints: Vec<(String, String)>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("stack", &self.deployment.stack_name)
            .field("moto_url", &self.moto_url)
            .finish()
    }
}

/// Starts moto, deploys the template into it and starts the services around it.
pub async fn start(
    options: &Options,
    venv: &Venv,
    principals: &Arc<Principals>,
    mailbox: &Path,
    services: &mut Vec<Service>,
) -> anyhow::Result<Aws> {
    let log = options.state_dir.join("moto.log");
    let moto_port = super::free_port()?;
    services.push(moto::start(venv, moto_port, &log).await?);
    let moto_url = format!("http://127.0.0.1:{moto_port}");
    let deployment = crate::template::deploy(
        &options.template,
        &super::template_parameters(options),
        STACK_NAME,
        &moto_url,
        venv,
    )
    .await
    .with_context(|| format!("cannot run {}", options.template.display()))?;

    let gateway = Gateway::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, options.moto_port)),
        moto_url.clone(),
        Arc::clone(principals),
    )
    .await
    .with_context(|| format!("cannot listen on port {} for moto", options.moto_port))?;
    // Textract reads the object and publishes its completion as the service does.
    let admin = local_sdk_config(&moto_url);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&admin)
            .force_path_style(true)
            .build(),
    );
    let mut textract = TextractConfig::new(
        s3,
        aws_sdk_sqs::Client::new(&admin),
        deployment.subscriptions.clone().into_iter().collect(),
    );
    textract.authorizer = Some(iam::authorizer(
        Arc::clone(principals),
        "textract.amazonaws.com",
    ));
    let textract = TextractServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), textract)
        .await
        .context("cannot start the local Textract")?;
    let ses = SesServer::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        mailbox,
        deployment.email_identities.clone(),
    )
    .await
    .context("cannot start the local SES")?;
    ses.set_authorizer(Some(iam::authorizer(
        Arc::clone(principals),
        "ses.amazonaws.com",
    )));

    let mut endpoints: Vec<(String, String)> = ["S3", "SQS", "SECRETS_MANAGER", "EVENTBRIDGE"]
        .into_iter()
        .map(|service| (format!("AWS_ENDPOINT_URL_{service}"), gateway.endpoint()))
        .collect();
    endpoints.push(("AWS_ENDPOINT_URL_TEXTRACT".to_owned(), textract.endpoint()));
    endpoints.push(("AWS_ENDPOINT_URL_SESV2".to_owned(), ses.endpoint()));
    Ok(Aws {
        deployment,
        gateway,
        textract,
        ses,
        moto_url,
        endpoints,
    })
}
