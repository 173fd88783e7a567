# The other three tables of the analytics database, over what the code writes to s3://{prefix}-results/ (the key
# layout is shared/storage.py and shared/reports.py; tests/unit/test_glue_contract.py checks every column below against
# the writers, so a rename on one side only fails the tests):
#
#   transcripts    transcripts/{org}/{yyyy}/{mm}/{dd}/{task_id}.json          one JSON document per call (one line)
#   analyses       analyses/{org}/{yyyy}/{mm}/{dd}/{task_id}.v{n}.json        one per call and pipeline version
#   journey_logs   analytics/journey_logs/dt=YYYY-MM-DD/{journey_id}.jsonl    one line per call of a journey, written
#                                                                             with its report when the journey ends
#
# Partition projection everywhere (no crawler, no MSCK REPAIR). The per-call documents live under the org and the
# call's day: `org` is injected (a query names it: WHERE org = '…'), `day` is a date over the yyyy/MM/dd folders
# (WHERE day BETWEEN '2026/01/01' AND '2026/01/31').

locals {
  results_root      = "s3://${var.results_bucket.name}"
  projection_start  = replace(var.partition_projection_start, "-", "/")
  journey_logs_root = "${local.results_root}/analytics/journey_logs"

  document_parameters = {
    EXTERNAL                       = "TRUE"
    classification                 = "json"
    "projection.enabled"           = "true"
    "projection.org.type"          = "injected"
    "projection.day.type"          = "date"
    "projection.day.format"        = "yyyy/MM/dd"
    "projection.day.range"         = "${local.projection_start},NOW"
    "projection.day.interval"      = "1"
    "projection.day.interval.unit" = "DAYS"
  }
  json_serde = {
    name                  = "json"
    serialization_library = "org.openx.data.jsonserde.JsonSerDe"
    parameters = {
      "ignore.malformed.json" = "true"
      "case.insensitive"      = "true"
    }
  }
  text_input  = "org.apache.hadoop.mapred.TextInputFormat"
  text_output = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
}

resource "aws_glue_catalog_table" "transcripts" {
  name          = "transcripts"
  database_name = aws_glue_catalog_database.this.name
  description   = "One row per transcribed call (shared/transcripts.py Transcript), partitioned by org and UTC day of the call."
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.document_parameters, {
    "storage.location.template" = "${local.results_root}/transcripts/$${org}/$${day}/"
  })

  partition_keys {
    name    = "org"
    type    = "string"
    comment = "WXCC org id (injected: name it in WHERE)"
  }
  partition_keys {
    name    = "day"
    type    = "string"
    comment = "UTC day of the call, yyyy/MM/dd"
  }

  storage_descriptor {
    location      = "${local.results_root}/transcripts/"
    input_format  = local.text_input
    output_format = local.text_output

    ser_de_info {
      name                  = local.json_serde.name
      serialization_library = local.json_serde.serialization_library
      parameters            = local.json_serde.parameters
    }

    columns {
      name    = "task_id"
      type    = "string"
      comment = "WXCC task (call) id"
    }
    columns {
      name    = "model"
      type    = "string"
      comment = "transcription model"
    }
    columns {
      name    = "language"
      type    = "string"
      comment = "ISO 639-1, when the model reports it"
    }
    columns {
      name    = "segments"
      type    = "array<struct<speaker:string,start:double,end:double,text:string,leg:string>>"
      comment = "turns on the call's timeline: speaker agent|customer|agent2, seconds from the start, leg main|consult"
    }
    columns {
      name    = "call_seconds"
      type    = "double"
      comment = "length of the call"
    }
    columns {
      name    = "billed_seconds"
      type    = "double"
      comment = "audio sent for transcription after trimming"
    }
    columns {
      name    = "conversation"
      type    = "struct<duration_s:double,talk_s:map<string,double>,silence_s:double,silence_ratio:double,longest_silence_s:double,overtalk_s:double,agent_talk_ratio:double,turns:int>"
      comment = "talk seconds per party, silence, overtalk, turns (shared/audio/conversation.py); null in older transcripts"
    }
    columns {
      name    = "redactions"
      type    = "map<string,int>"
      comment = "PCI/PII placeholders put in the text, per kind (card, cvv, expiry, ni, ssn, email, phone: shared/privacy)"
    }
  }
}

resource "aws_glue_catalog_table" "analyses" {
  name          = "analyses"
  database_name = aws_glue_catalog_database.this.name
  description   = "One row per analysed call and pipeline version (the analyze stage's document), partitioned by org and UTC day of the call."
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.document_parameters, {
    "storage.location.template" = "${local.results_root}/analyses/$${org}/$${day}/"
  })

  partition_keys {
    name    = "org"
    type    = "string"
    comment = "WXCC org id (injected: name it in WHERE)"
  }
  partition_keys {
    name    = "day"
    type    = "string"
    comment = "UTC day of the call, yyyy/MM/dd"
  }

  storage_descriptor {
    location      = "${local.results_root}/analyses/"
    input_format  = local.text_input
    output_format = local.text_output

    ser_de_info {
      name                  = local.json_serde.name
      serialization_library = local.json_serde.serialization_library
      parameters            = local.json_serde.parameters
    }

    columns {
      name    = "task_id"
      type    = "string"
      comment = "WXCC task (call) id"
    }
    columns {
      name = "org_id"
      type = "string"
    }
    columns {
      name    = "pipeline_version"
      type    = "int"
      comment = "a reprocess writes a new version beside the old one"
    }
    columns {
      name = "prompt_version"
      type = "string"
    }
    columns {
      name    = "model"
      type    = "string"
      comment = "analysis model"
    }
    columns {
      name = "tokens"
      type = "struct<prompt:bigint,completion:bigint>"
    }
    columns {
      name    = "analysis"
      type    = "struct<summary:string,reason_for_call:string,topics:array<string>,resolved:boolean,customer_sentiment:string,agent_sentiment:string,action_items:array<string>,qa_flags:array<struct<flag:string,severity:string,evidence:string>>,language:string>"
      comment = "shared/analysis.py CallAnalysis"
    }
  }
}

resource "aws_glue_catalog_table" "journey_logs" {
  name          = "journey_logs"
  database_name = aws_glue_catalog_database.this.name
  description   = "Journey execution logs: one row per call of a journey with its outcome and reason, partitioned by dt = the UTC day the journey was created."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                      = "TRUE"
    classification                = "json"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.partition_projection_start},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = "${local.journey_logs_root}/dt=$${dt}/"
  }

  partition_keys {
    name = "dt"
    type = "string"
  }

  storage_descriptor {
    location      = "${local.journey_logs_root}/"
    input_format  = local.text_input
    output_format = local.text_output

    ser_de_info {
      name                  = local.json_serde.name
      serialization_library = local.json_serde.serialization_library
      parameters            = local.json_serde.parameters
    }

    columns {
      name = "journey_id"
      type = "string"
    }
    columns {
      name = "org_id"
      type = "string"
    }
    columns {
      name    = "journey_kind"
      type    = "string"
      comment = "window | tasks | reprocess"
    }
    columns {
      name = "pipeline_version"
      type = "int"
    }
    columns {
      name    = "task_id"
      type    = "string"
      comment = "WXCC task (call) id"
    }
    columns {
      name    = "outcome"
      type    = "string"
      comment = "analyzed | skipped | skipped_duplicate | failed | queued (still running) | replayed"
    }
    columns {
      name    = "stage"
      type    = "string"
      comment = "where the call ended: poll | fetch | transcribe | analyze"
    }
    columns {
      name    = "reason"
      type    = "string"
      comment = "why it failed or was skipped"
    }
    columns {
      name = "billed_audio_seconds"
      type = "double"
    }
    columns {
      name    = "tokens"
      type    = "bigint"
      comment = "LLM prompt + completion tokens"
    }
    columns {
      name = "analysis_key"
      type = "string"
    }
    columns {
      name    = "at"
      type    = "string"
      comment = "ISO-8601 time of the call's last outcome (UTC)"
    }
  }
}

# access control (issue 20): the audit trail, s3://{prefix}-logs/audit/dt=YYYY-MM-DD/{HHMMSS.ffffff}-{id}.jsonl, one
# JSON line per event (shared/audit.py); the logs bucket is always named {prefix}-logs (modules/data/s3.tf).
#   SELECT at, actor, action, targets, outcome FROM "<prefix>_analytics"."audit_events"
#   WHERE dt BETWEEN '2026-03-01' AND '2026-03-07' AND action = 'replayDlq' ORDER BY at;
locals {
  audit_root = "s3://${var.name_prefix}-logs/audit"
}

resource "aws_glue_catalog_table" "audit_events" {
  name          = "audit_events"
  database_name = aws_glue_catalog_database.this.name
  description   = "Audit trail: one row per change (API, CLI, MCP) with its actor, action, targets and outcome, partitioned by dt = the UTC day it happened."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                      = "TRUE"
    classification                = "json"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.partition_projection_start},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = "${local.audit_root}/dt=$${dt}/"
  }

  partition_keys {
    name = "dt"
    type = "string"
  }

  storage_descriptor {
    location      = "${local.audit_root}/"
    input_format  = local.text_input
    output_format = local.text_output

    ser_de_info {
      name                  = local.json_serde.name
      serialization_library = local.json_serde.serialization_library
      parameters            = local.json_serde.parameters
    }

    columns {
      name = "id"
      type = "string"
    }
    columns {
      name    = "at"
      type    = "string"
      comment = "ISO-8601 time of the change (UTC)"
    }
    columns {
      name    = "actor"
      type    = "string"
      comment = "key:{id} | oidc:{subject} | cli:{user} | anonymous"
    }
    columns {
      name = "actor_label"
      type = "string"
    }
    columns {
      name    = "front_door"
      type    = "string"
      comment = "http | cli | mcp"
    }
    columns {
      name    = "action"
      type    = "string"
      comment = "the API operation id (createJourney) or area.verb (license.activate)"
    }
    columns {
      name    = "targets"
      type    = "map<string,string>"
      comment = "ids of what was acted on, e.g. journey_id, stage, created"
    }
    columns {
      name    = "outcome"
      type    = "string"
      comment = "ok | denied | failed"
    }
    columns {
      name    = "status"
      type    = "int"
      comment = "HTTP status (HTTP requests only)"
    }
    columns {
      name = "request_id"
      type = "string"
    }
    columns {
      name    = "detail"
      type    = "string"
      comment = "a short machine reason (an error code)"
    }
  }
}
