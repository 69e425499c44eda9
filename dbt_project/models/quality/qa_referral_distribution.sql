-- The referral_distribution widget's batch: the mart with its landed-data facts (macros/quality_batches.sql).
{{ plain_quality_batch('mart_referral_distribution') }}
