{#- Whether a customer may be contacted on a channel: the consent-free channels (var
    consent_free_channels, e.g. on-site messages) always, every other only with marketing
    consent (marketing_opt_in = true; unknown consent is no consent). -#}
{% macro channel_contactable(channel, opt_in) -%}
    (
        {{ channel }} in (
            {%- for c in var('consent_free_channels') %}'{{ c }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        )
        or coalesce({{ opt_in }}, false)
    )
{%- endmacro %}
