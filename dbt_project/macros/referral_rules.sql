{# Display name of a QRP program from `referralProgram`; null (not a QRP referral) otherwise.
   Used for current states and for historical versions alike. #}
{% macro qrp_program_name(referral_program) -%}
    case {{ referral_program }}
        when 'ContactRequest' then 'Contact request'
        when 'DigitalSalesOpportunity' then 'Digital Sales Opportunity'
    end
{%- endmacro %}
