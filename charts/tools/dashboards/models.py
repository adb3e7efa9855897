"""Model servers: `storybang inference` and vLLM side by side. Each panel asks both engines (an
``or`` of their metrics), so one dashboard fits whichever a ModelServer runs."""

from __future__ import annotations

from dashboards.common import (
    ENGINE_ONLY,
    RATE,
    Panel,
    Query,
    Row,
    build,
    q,
    query_variable,
    selector,
    standard_variables,
)

MS = selector('component="model-server"', variables=("namespace", "platform", "pod"))


def _both(storybang: str, vllm: str, legend: str = "{{pod}}") -> list[Query]:
    return [q(f"({storybang}) or ({vllm})", legend)]


def _p95(metric: str) -> str:
    return f"histogram_quantile(0.95, sum by (pod, le) (rate({metric}_bucket{MS}[{RATE}])))"


def _rate(metric: str) -> str:
    return f"sum by (pod) (rate({metric}{MS}[{RATE}]))"


def dashboard() -> str:
    load = Row(
        "Load",
        [
            Panel("Model servers up", [q(f"sum(up{MS})")], kind="stat"),
            Panel(
                "Requests waiting",
                _both(f"sum(storybang_inference_requests_waiting{MS})", f"sum(vllm:num_requests_waiting{MS})", ""),
                kind="stat",
            ),
            Panel(
                "Generated tokens / s",
                _both(
                    f"sum(rate(storybang_inference_generated_tokens_total{MS}[{RATE}]))",
                    f"sum(rate(vllm:generation_tokens_total{MS}[{RATE}]))",
                    "",
                ),
                kind="stat",
            ),
            Panel(
                "Requests running",
                _both(
                    f"sum by (pod) (storybang_inference_requests_running{MS})",
                    f"sum by (pod) (vllm:num_requests_running{MS})",
                ),
            ),
            Panel(
                "Requests waiting",
                _both(
                    f"sum by (pod) (storybang_inference_requests_waiting{MS})",
                    f"sum by (pod) (vllm:num_requests_waiting{MS})",
                ),
                description="What ModelServer autoscaling follows: requests queued behind the running ones.",
            ),
            Panel(
                "Requests / s by outcome",
                [
                    q(
                        f"(sum by (pod, outcome) (rate(storybang_inference_requests_total{MS}[{RATE}]))) or "
                        f"(sum by (pod, outcome) (label_replace(rate(vllm:request_success_total{MS}[{RATE}]), "
                        '"outcome", "$1", "finished_reason", "(.*)")))',
                        "{{pod}} {{outcome}}",
                    )
                ],
                unit="reqps",
            ),
        ],
    )
    speed = Row(
        "Speed",
        [
            Panel(
                "Time to first token p95",
                _both(
                    _p95("storybang_inference_time_to_first_token_seconds"), _p95("vllm:time_to_first_token_seconds")
                ),
                unit="s",
            ),
            Panel(
                "Inter-token latency p95",
                [
                    q(
                        f"({_p95('storybang_inference_inter_token_latency_seconds')}) or "
                        f"({_p95('vllm:inter_token_latency_seconds')}) or "
                        f"({_p95('vllm:time_per_output_token_seconds')})",
                        "{{pod}}",
                    )
                ],
                unit="s",
                description="vLLM names it inter_token_latency (v0.10 on) or time_per_output_token (before).",
            ),
            Panel(
                "Generated tokens / s",
                _both(_rate("storybang_inference_generated_tokens_total"), _rate("vllm:generation_tokens_total")),
            ),
            Panel(
                "Prompt tokens / s",
                _both(_rate("storybang_inference_prompt_tokens_total"), _rate("vllm:prompt_tokens_total")),
            ),
        ],
    )
    memory = Row(
        "Memory",
        [
            Panel(
                "KV-cache use",
                [q(f"(max by (pod) (vllm:kv_cache_usage_perc{MS})) or (max by (pod) (vllm:gpu_cache_usage_perc{MS}))")],
                unit="percentunit",
                description=f"{ENGINE_ONLY} Near 100% the engine queues or preempts requests.",
            ),
            Panel(
                "Device memory",
                [
                    q(
                        f"(sum by (pod, device) (storybang_inference_device_memory_bytes{MS})) or "
                        '(sum by (pod) (DCGM_FI_DEV_FB_USED{namespace=~"$namespace", pod=~"$pod"}) * 1048576)',
                        "{{pod}} {{device}}",
                    )
                ],
                unit="bytes",
                description="storybang inference: what torch holds on the device. vLLM: GPU memory in use, "
                "from NVIDIA's DCGM exporter where it runs.",
            ),
            Panel(
                "Process memory",
                [q(f"sum by (pod) (process_resident_memory_bytes{MS})")],
                unit="bytes",
                width=24,
            ),
        ],
    )
    variables = [
        *standard_variables(),
        query_variable(
            "pod",
            "Model server pod",
            'label_values(up{namespace=~"$namespace", platform=~"$platform", component="model-server"}, pod)',
        ),
    ]
    return build(
        "storybang-model-servers",
        "StoryBang / Model servers",
        "storybang inference and vLLM: load, speed (TTFT, inter-token latency, tokens/s) and memory.",
        [load, speed, memory],
        variables,
    )
