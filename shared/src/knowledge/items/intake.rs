//! Items entering and leaving storage: a new item is set going (a presigned upload for a
//! file, the text stored, the URL queued), a deleted one takes its object with it, and a
//! reprocessed one is queued again.

use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;

use super::{Item, NewItem, create, create_many, delete, reprocess};
use crate::auth::Caller;
use crate::data_api::DataApi;
use crate::error::AppError;
use crate::ports::{ObjectStore, Queue};

/// How long a presigned upload URL stays valid.
pub const UPLOAD_EXPIRY: Duration = Duration::from_secs(15 * 60);

/// What storage an item needs: the database, the documents bucket and the
/// file-processing queue.
#[derive(Clone, Copy)]
pub struct Intake<'a> {
    pub db: &'a DataApi,
    pub store: &'a dyn ObjectStore,
    pub processing: &'a dyn Queue,
}

/// A new item and, for a file, where the client uploads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Started {
    pub item: Item,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<Upload>,
}

/// A presigned PUT for the item's object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub url: String,
    pub method: &'static str,
    /// Headers the client must send: the content type the URL was signed for.
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub expires_in_seconds: u64,
}

impl Intake<'_> {
    /// Adds one item to `repository` and sets it going.
    pub async fn add(
        &self,
        caller: &Caller,
        repository: Uuid,
        new: &NewItem,
    ) -> Result<Started, AppError> {
        let item = create(self.db, caller, repository, new).await?;
        self.start(item, new).await
    }

    /// Adds up to [`super::MAX_BATCH`] items in one statement; each entry is the item set
    /// going, or why it will not progress.
    pub async fn add_many(
        &self,
        caller: &Caller,
        repository: Uuid,
        new: &[NewItem],
    ) -> Result<Vec<Result<Started, AppError>>, AppError> {
        let created = create_many(self.db, caller, repository, new).await?;
        let mut started = Vec::with_capacity(created.len());
        for (created, new) in created.into_iter().zip(new) {
            started.push(match created {
                Ok(item) => self.start(item, new).await,
                Err(refused) => Err(refused),
            });
        }
        Ok(started)
    }

    /// Deletes an item with its chunks and embeddings, then its uploaded object.
    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<Item, AppError> {
        let item = delete(self.db, caller, id).await?;
        if item.source.starts_with("repositories/") {
            self.store.delete(&item.source).await?;
        }
        Ok(item)
    }

    /// Sends an item through the pipeline again and queues it.
    pub async fn reprocess(&self, caller: &Caller, id: Uuid) -> Result<Item, AppError> {
        let item = reprocess(self.db, caller, id).await?;
        self.processing
            .send(vec![processing_message(item.id)])
            .await?;
        Ok(item)
    }

    /// Sets a new item going. When that fails the item is marked failed with the reason
    /// (rather than left `pending`), and the error returned.
    async fn start(&self, item: Item, new: &NewItem) -> Result<Started, AppError> {
        let upload = match new {
            NewItem::File { content_type, .. } => self
                .store
                .presign_put(&item.source, content_type.as_deref(), UPLOAD_EXPIRY)
                .await
                .map(|url| {
                    let mut headers = serde_json::Map::new();
                    if let Some(content_type) = content_type {
                        headers.insert("content-type".into(), content_type.clone().into());
                    }
                    Some(Upload {
                        url,
                        method: "PUT",
                        headers,
                        expires_in_seconds: UPLOAD_EXPIRY.as_secs(),
                    })
                }),
            NewItem::Text { text, .. } => self
                .store
                .put(
                    &item.source,
                    text.as_bytes().to_vec(),
                    "text/plain; charset=utf-8",
                )
                .await
                .map(|()| None),
            NewItem::Url { .. } => self
                .processing
                .send(vec![processing_message(item.id)])
                .await
                .map(|()| None),
        };
        match upload {
            Ok(upload) => Ok(Started { item, upload }),
            Err(error) => {
                let reason = format!(
                    "The item could not be queued for processing: {}",
                    error.message
                );
                if let Err(marking) = super::fail(self.db, item.id, &reason).await {
                    tracing::error!(error = %marking.chain(), "Could not mark the item failed");
                }
                Err(error)
            }
        }
    }
}

/// The file-processing queue's message for an item the API sets going.
fn processing_message(item: Uuid) -> String {
    serde_json::json!({ "itemId": item }).to_string()
}
