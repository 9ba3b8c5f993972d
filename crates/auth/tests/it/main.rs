mod jwt;
mod siwe_parse;
mod siwe_signature;
mod siws;
mod uri_matching;
