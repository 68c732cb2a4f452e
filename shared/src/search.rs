//! Hybrid search over the caller's repositories: pgvector cosine distance (HNSW) and
//! PostgreSQL full text (`ts_rank_cd`), fused by reciprocal rank fusion, in one statement.
//! The keyword half matches a question asked in plain words: any of its significant words
//! (stemmed, stop words and, in a large corpus, its most common words dropped) may match, and chunks
//! that hold more of them, closer together, rank higher. Requiring every word
//! (`websearch_to_tsquery`) found nothing for most questions a person types.
//! Equal fused scores (the first of one list and the first of the other both score
//! 1/(k+1)) are settled by evidence, not by id: a hit found by both lists first, then one
//! that matches the query's words (higher `ts_rank_cd`), then the nearer vector.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Caller;
use crate::data_api::{DataApi, Params, TextArray, Vector};
use crate::error::AppError;
use crate::knowledge::{Access, repositories};
use crate::ports::embed::Embedder;

/// Reciprocal rank fusion constant (the usual 60).
pub const RRF_K: i64 = 60;
/// Candidates taken from each ranking before fusion.
pub const CANDIDATES: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Hybrid,
    Vector,
    Keyword,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Hit {
    pub chunk_id: Uuid,
    pub item_id: Uuid,
    pub item_name: String,
    pub repository_id: Uuid,
    pub page_start: Option<i32>,
    pub page_end: Option<i32>,
    pub heading_path: Vec<String>,
    pub excerpt: String,
    pub score: f64,
    /// The whole chunk, for prompts (RAG); search results show the excerpt.
    #[serde(default, skip_serializing)]
    pub content: String,
}

/// A word more chunks than this hold (by PostgreSQL's statistics of the `tsv` column,
/// kept by ANALYZE: its share of the table times the table's rows) says little about a
/// question, as a stop word does, and matching it means ranking all those chunks: at
/// 100,000 chunks an any-word query took 400 ms. Such words are left out of the keyword
/// query; a question made only of them needs all of them. A smaller corpus keeps every
/// word (a share alone would drop most words of a 50-document one).
macro_rules! common_rows {
    () => {
        "5000"
    };
}

/// The search statement for one embedding dimension. HNSW indexes are per dimension, at
/// half precision (schema 010), and the planner only uses one when the SQL repeats its
/// expression with the literal size.
macro_rules! hybrid_sql {
    ($dims:literal) => {
        concat!(
            "WITH query_words AS (
                SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', :query_text))
            ), common_words AS (
                SELECT m.word FROM pg_stats s JOIN pg_class t ON t.oid = 'chunks'::regclass,
                       unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS m(word, share)
                WHERE s.schemaname = current_schema() AND s.tablename = 'chunks' AND s.attname = 'tsv'
                  AND m.share * t.reltuples > ", common_rows!(), "
            ), keyword_query AS (
                SELECT coalesce(
                    (SELECT string_agg(quote_literal(w.lexeme), ' | ')::tsquery FROM query_words w
                     WHERE w.lexeme NOT IN (SELECT word FROM common_words)),
                    plainto_tsquery('english', :query_text)) AS q
            ), vector_hits AS (
                SELECT c.id, row_number() OVER (ORDER BY e.embedding::halfvec(", $dims, ") <=> :query_vector::halfvec(", $dims, ")) AS rank,
                       (e.embedding::halfvec(", $dims, ") <=> :query_vector::halfvec(", $dims, "))::float8 AS distance
                FROM embeddings e JOIN chunks c ON c.id = e.chunk_id
                WHERE :use_vector AND e.model = :model AND e.dimensions = ", $dims, "
                  AND c.repository_id = ANY(:repositories::uuid[])
                ORDER BY e.embedding::halfvec(", $dims, ") <=> :query_vector::halfvec(", $dims, ")
                LIMIT :candidates
            ), keyword_hits AS (
                SELECT c.id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, q) DESC, c.id) AS rank,
                       ts_rank_cd(c.tsv, q)::float8 AS relevance
                FROM chunks c, keyword_query
                WHERE :use_keyword AND c.tsv @@ q AND c.repository_id = ANY(:repositories::uuid[])
                ORDER BY ts_rank_cd(c.tsv, q) DESC, c.id
                LIMIT :candidates
            ), fused AS (
                SELECT id, sum(1.0 / (:rrf_k + rank))::float8 AS score, count(*) AS lists,
                       max(relevance) AS relevance, min(distance) AS distance
                FROM (SELECT id, rank, NULL::float8 AS relevance, distance FROM vector_hits
                      UNION ALL SELECT id, rank, relevance, NULL::float8 FROM keyword_hits) AS hits
                GROUP BY id
            )
            SELECT c.id AS chunk_id, c.item_id, i.name AS item_name, c.repository_id, c.page_start, c.page_end,
                   c.heading_path, left(c.content, 400) AS excerpt, f.score, c.content
            FROM fused f JOIN chunks c ON c.id = f.id JOIN repository_items i ON i.id = c.item_id
            ORDER BY f.score DESC, f.lists DESC, f.relevance DESC NULLS LAST, f.distance NULLS LAST, c.id
            LIMIT :limit"
        )
    };
}

/// The search statement for embeddings of `dimensions` (named parameters: `query_vector`,
/// `query_text`, `model`, `repositories`, `use_vector`, `use_keyword`, `candidates`, `rrf_k`,
/// `limit`). Public for the search-at-scale benchmark, which runs it directly in PostgreSQL too.
pub fn statement(dimensions: usize) -> Result<&'static str, AppError> {
    Ok(match dimensions {
        256 => hybrid_sql!("256"),
        384 => hybrid_sql!("384"),
        768 => hybrid_sql!("768"),
        1024 => hybrid_sql!("1024"),
        1536 => hybrid_sql!("1536"),
        other => {
            return Err(AppError::internal(format!(
                "Embeddings of {other} dimensions have no search statement; add one with its index"
            )));
        }
    })
}

/// Searches `repository_ids` (each must be readable by the caller) for `query`.
pub async fn search(
    db: &DataApi,
    embedder: &dyn Embedder,
    caller: &Caller,
    repository_ids: &[Uuid],
    query: &str,
    mode: Mode,
    limit: i64,
) -> Result<Vec<Hit>, AppError> {
    let query = valid_query(query)?;
    if repository_ids.is_empty() {
        return Err(AppError::validation(
            "Name at least one repository to search",
        ));
    }
    // The access check and the search run at once (one round trip's wait, not two); the
    // hits are only returned when every repository is the caller's to read, and a refusal
    // is reported before any failure of the search.
    let (access, hits) = tokio::join!(
        repositories::require_all(db, caller, repository_ids, Access::Read),
        ranked(db, embedder, repository_ids, query, mode, limit),
    );
    access?;
    hits
}

/// Searches every repository the caller can read for `query`; with none, nothing is found.
pub async fn search_readable(
    db: &DataApi,
    embedder: &dyn Embedder,
    caller: &Caller,
    query: &str,
    mode: Mode,
    limit: i64,
) -> Result<Vec<Hit>, AppError> {
    let query = valid_query(query)?;
    let readable: Vec<Uuid> = repositories::list(db, caller)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    if readable.is_empty() {
        return Ok(Vec::new());
    }
    search(db, embedder, caller, &readable, query, mode, limit).await
}

/// The query trimmed, when it is 1 to 2000 characters.
fn valid_query(query: &str) -> Result<&str, AppError> {
    let query = query.trim();
    if query.is_empty() || query.chars().count() > 2000 {
        return Err(AppError::validation(
            "A search query is 1 to 2000 characters",
        ));
    }
    Ok(query)
}

/// The search statement itself, without the access check (the caller has checked access;
/// the search-at-scale benchmark times it through the Data API).
pub async fn ranked(
    db: &DataApi,
    embedder: &dyn Embedder,
    repository_ids: &[Uuid],
    query: &str,
    mode: Mode,
    limit: i64,
) -> Result<Vec<Hit>, AppError> {
    let sql = statement(embedder.dimensions())?;
    let query_vector = match mode {
        Mode::Keyword => vec![0.0; embedder.dimensions()],
        Mode::Hybrid | Mode::Vector => embedder
            .embed(&[query.to_owned()])
            .await
            .map_err(|e| AppError::new(crate::error::ErrorCode::ProviderError, e.to_string()))?
            .pop()
            .unwrap_or_default(),
    };
    let repositories = TextArray(repository_ids.iter().map(Uuid::to_string).collect());
    Ok(db
        .query(
            sql,
            Params::new()
                .bind("query_vector", Vector(query_vector))
                .bind("query_text", query)
                .bind("model", embedder.model())
                .bind("repositories", repositories)
                .bind("use_vector", mode != Mode::Keyword)
                .bind("use_keyword", mode != Mode::Vector)
                .bind("candidates", CANDIDATES)
                .bind("rrf_k", RRF_K)
                .bind("limit", limit.clamp(1, 50)),
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_trimmed_and_must_hold_1_to_2000_characters() {
        assert_eq!(valid_query("  barn owl \n").unwrap(), "barn owl");
        assert!(valid_query(" \t ").is_err());
        assert!(valid_query(&"é".repeat(2000)).is_ok());
        assert!(valid_query(&"é".repeat(2001)).is_err());
    }
}
