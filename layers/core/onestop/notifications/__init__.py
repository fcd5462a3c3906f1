"""Notifications to applicants (and escalations to the bureau's admins): what each event tells whom,
in zh and en, by SMS, e-mail and the in-portal inbox, once per event (issue 18 item 2).

`messages` renders an event into a `Notice`; `service.Notifier` finds the recipients (from the stored
application, never from the event), applies their preferences and delivers each channel once;
`ports` names what the AWS adapters (`onestop.aws.notifier*`) implement.
"""
