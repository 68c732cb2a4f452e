//! OCR for scans and images, one flow on AWS and locally (the stack's Textract server): the
//! file-processor reserves pages of the monthly [`budget`] and starts a job through the
//! [`crate::ports::ocr::OcrEngine`] port ([`jobs`] keeps the row); the job's completion
//! arrives as an SNS-wrapped Textract notification ([`crate::ports::ocr::Completion`]) on
//! the OCR completion queue, and [`crate::ingest::complete_ocr`] turns the job's lines
//! into pages and continues at chunking.

pub mod budget;
pub mod jobs;
